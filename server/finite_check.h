// Whether a pushed gradient is all finite, checked at memory speed: the
// check reads every float of every push before anything is applied, so it
// must cost no more than a pass over the bytes.
#ifndef PETREL_SERVER_FINITE_CHECK_H_
#define PETREL_SERVER_FINITE_CHECK_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace petrel::server {

// The index of the first NaN or infinity in `values`, or -1 if there is none.
int64_t FirstNonFinite(absl::Span<const float> values);
// The same over float32 LE bytes at any address (a pushed gradient where
// gRPC received it need not be aligned for float); bytes.size() % 4 == 0.
int64_t FirstNonFiniteBytes(absl::string_view float_bytes);

}  // namespace petrel::server

#endif  // PETREL_SERVER_FINITE_CHECK_H_
