// std::ios_base_library_init() for a libstdc++ older than GCC 13 (scripts/libtorch-loadable.sh).
//
// GCC 13 moved the construction of the standard streams (std::cout, ...) into libstdc++ itself: <iostream> no longer
// declares a static std::ios_base::Init in every translation unit, it references this function (GLIBCXX_3.4.32) so that
// the library's initialisation is linked in. With GCC 12's libstdc++ the streams are constructed by std::ios_base::Init
// objects instead; including <iostream> here (compiled by GCC 12) defines one, so the streams are ready before anything
// that links this shim runs, and the function itself has nothing left to do.
#include <iostream>

namespace std
{
__attribute__((visibility("default"))) void ios_base_library_init() {}
}
