# Run at every build (cmake -P): writes OUT, the commit the sources are at, for source_commit()
# (core/source_version.hpp). Rewritten only when the text changes, so a build at the same commit
# recompiles and relinks nothing. Only SRC's own checkout counts: sources unpacked inside another
# repository (a home directory under git) are not at its commit. Sources outside git (an archive,
# the GPU bundle) say so; a checkout git will not read (another owner's) says its commit is unknown.
execute_process(
  COMMAND git -C "${SRC}" rev-parse --show-toplevel
  OUTPUT_VARIABLE top
  ERROR_QUIET
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE failed)
set(commit "")
if(NOT failed)
  get_filename_component(top "${top}" REALPATH)
  get_filename_component(src "${SRC}" REALPATH)
  if(top STREQUAL src)
    execute_process(
      COMMAND git -C "${SRC}" rev-parse --short=12 HEAD
      OUTPUT_VARIABLE commit
      ERROR_QUIET
      OUTPUT_STRIP_TRAILING_WHITESPACE)
    # A file touched but not changed is not a change (what git describe --dirty does too).
    execute_process(COMMAND git -C "${SRC}" update-index -q --refresh OUTPUT_QUIET ERROR_QUIET)
    execute_process(
      COMMAND git -C "${SRC}" diff-index --quiet HEAD --
      RESULT_VARIABLE dirty
      ERROR_QUIET)
    if(NOT commit STREQUAL "" AND NOT dirty EQUAL 0)
      set(commit "${commit}-dirty")
    endif()
  endif()
elseif(EXISTS "${SRC}/.git")
  set(commit "unknown")
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
