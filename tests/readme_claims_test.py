#!/usr/bin/python3
"""README's "What works today" against the code: the dense-tables bullet
names every optimizer the servers apply (KnownOptimizers in
server/optimizer.cc); server/job_shards_test checks that each of them really
applies to dense tables."""
import re
import sys

readme, optimizer_cc = sys.argv[1:3]
known = re.search(r"new std::vector<std::string>\{([^}]*)\}", open(optimizer_cc).read())
assert known, "no KnownOptimizers list in " + optimizer_cc
names = re.findall(r'"([a-z]+)"', known.group(1))
assert len(names) >= 5, names
text = open(readme).read()
bullet = re.search(r"^- Dense tables.*?(?=^- )", text, re.S | re.M)
assert bullet, "README has no '- Dense tables' bullet"
bullet = " ".join(bullet.group(0).split()).lower()
missing = [n for n in names if n not in bullet]
if missing:
    print(f"FAIL: README's dense-tables bullet does not name {missing}: {bullet}")
    sys.exit(1)
print(f"ok: README's dense-tables bullet names all {len(names)} optimizers: {', '.join(names)}")
