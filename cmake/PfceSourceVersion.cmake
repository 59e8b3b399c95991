# Run at every build (cmake -P): writes OUT, the commit the sources are at, for source_version()
# (core/source_version.hpp). Rewritten only when the text changes, so a build at the same commit
# recompiles and relinks nothing. Sources outside git (an unpacked archive, the GPU bundle) say so.
execute_process(
  COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
  OUTPUT_VARIABLE commit
  ERROR_QUIET
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE failed)
if(failed OR commit STREQUAL "")
  set(commit "")
endif()
set(text "// Generated at build time by cmake/PfceSourceVersion.cmake: the commit of these sources.
#include \"core/source_version.hpp\"

namespace pfce {
const char* source_commit() {
    return \"${commit}\";
}
}  // namespace pfce
")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
else()
  set(old "")
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
