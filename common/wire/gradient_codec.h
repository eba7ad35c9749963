// Gradient compression on the wire (job.proto's CompressionSpec): workers
// encode each dense slice they push, servers decode it back to float32
// before anything else looks at it. fp16 and bf16 halve the bytes with
// round-to-nearest-even; top-k sends the largest-magnitude elements and
// keeps the rest as a residual the worker adds to its next gradient (error
// feedback), so nothing is dropped for good, only delayed.
#ifndef PETREL_COMMON_WIRE_GRADIENT_CODEC_H_
#define PETREL_COMMON_WIRE_GRADIENT_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/job.pb.h"
#include "proto/parameter.pb.h"

namespace petrel {

// IEEE binary16. Finite floats beyond its range become its largest finite
// value (+-65504) rather than infinity: a gradient must stay finite.
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);
// bfloat16: float32's top 16 bits, rounded; saturates like FloatToHalf.
uint16_t FloatToBfloat16(float value);
float Bfloat16ToFloat(uint16_t bits);

// The wire encoding a job's compression asks for ("" and "none": FLOAT32).
GradientEncoding EncodingFor(const CompressionSpec& compression);

// Writes `gradient` as FLOAT16 or BFLOAT16 into `out` (2 bytes per element).
void EncodeHalves(GradientEncoding encoding, absl::Span<const float> gradient, std::string* out);

// TOPK with error feedback: residual += gradient, then the k = ceil(ratio *
// n) elements of largest magnitude are written to `out` and zeroed in the
// residual. `residual` has n elements (zeros before the first step).
void EncodeTopK(absl::Span<const float> gradient, double ratio, absl::Span<float> residual,
                std::string* out);

// Decodes a slice of `n` floats sent with `encoding` into `out` (resized to
// n); INVALID_ARGUMENT, naming the problem, if the bytes cannot be that. `n`
// must already be checked against what the caller holds: TOPK allocates it.
absl::Status DecodeGradient(GradientEncoding encoding, absl::string_view bytes, int64_t n,
                            std::vector<float>* out);

}  // namespace petrel

#endif  // PETREL_COMMON_WIRE_GRADIENT_CODEC_H_
