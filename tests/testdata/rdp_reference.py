#!/usr/bin/env python3
"""Independent reference for common/rdp_accountant: A_alpha summed exactly.

For integer order alpha, A_alpha = sum_{k=0..alpha} C(alpha, k) (1-q)^(alpha-k)
q^k exp((k^2 - k) / (2 sigma^2)) (Mironov, Talwar, Zhang 2019). Here C is an
exact integer, q and sigma exact decimals, every power exact, and only exp and
log are rounded, at 80 significant digits, so the result is far more precise
than the double-precision log-sum-exp it checks. (epsilon, delta) follows the
Canonne-Kamath-Steinke conversion over the same orders as the C++ accountant.

The values hard-coded in common/federated/rdp_accountant_test.cc were printed by
`python3 tests/testdata/rdp_reference.py` (standard library only).
"""
from decimal import Decimal, getcontext
from math import comb

getcontext().prec = 80

ORDERS = list(range(2, 257)) + [320, 384, 512, 768, 1024]


def rdp(q, sigma, order):
    q, sigma = Decimal(q), Decimal(sigma)
    two_sigma_sq = 2 * sigma * sigma
    total = Decimal(0)
    for k in range(order + 1):
        total += (comb(order, k) * (1 - q) ** (order - k) * q ** k *
                  (Decimal(k * k - k) / two_sigma_sq).exp())
    return total.ln() / (order - 1)


def epsilon(q, sigma, steps, delta):
    delta = Decimal(delta)
    best = None
    for order in ORDERS:
        a = Decimal(order)
        eps = (steps * rdp(q, sigma, order) + (1 - 1 / a).ln()
               - (delta.ln() + a.ln()) / (a - 1))
        if best is None or eps < best[0]:
            best = (eps, order)
    return best


def tutorial():
    """TF Privacy's MNIST tutorial: q = 256/60000, sigma = 1.1, 14062 steps."""
    q, delta = Decimal(256) / Decimal(60000), Decimal("1e-5")
    rdps = {order: 14062 * rdp(q, "1.1", order) for order in ORDERS}
    mironov = min(v + (1 / delta).ln() / (a - 1) for a, v in rdps.items())
    cks = min(v + (1 - Decimal(1) / a).ln() - (delta.ln() + Decimal(a).ln()) / (a - 1)
              for a, v in rdps.items())
    print(f"tutorial: epsilon {cks:.6f} (Canonne-Kamath-Steinke), "
          f"{mironov:.6f} (Mironov 2017 conversion)")


def main():
    for q, sigma, order in [("0.01", "1.1", 2), ("0.01", "1.1", 8), ("0.01", "1.1", 32),
                            ("0.5", "1.0", 5), ("0.001", "0.5", 16)]:
        print(f"rdp(q={q}, sigma={sigma}, order={order}) = {rdp(q, sigma, order):.17e}")
    for q, sigma, steps, delta in [("0.01", "1.1", 10000, "1e-5"),
                                   ("0.5", "1.0", 50, "1e-5")]:
        eps, order = epsilon(q, sigma, steps, delta)
        print(f"epsilon(q={q}, sigma={sigma}, steps={steps}, delta={delta}) = "
              f"{eps:.17e} at order {order}")
    tutorial()


if __name__ == "__main__":
    main()
