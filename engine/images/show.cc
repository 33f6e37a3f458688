#include "engine/images/show.h"

#include <cstdio>

namespace stasis::images {

// Placeholder until the JSON view lands.
int RunShow(const ShowOptions&) {
  std::fputs("show: not built yet\n", stderr);
  return 1;
}

}  // namespace stasis::images
