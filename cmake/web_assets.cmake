# web_assets.cmake - compiles the dashboard (web/) into scoreboard_lib.
#
# The files below are embedded at build time by embed_assets.cmake into
# <build>/generated/web_assets.c; the binary needs nothing next to it.
# uPlot comes from web/node_modules, which scripts/install-deps.sh fills
# with `npm ci` from the committed web/package-lock.json.
set(SB_WEB_DIR ${PROJECT_SOURCE_DIR}/web)
set(SB_UPLOT_DIR ${SB_WEB_DIR}/node_modules/uplot/dist)
if(NOT EXISTS ${SB_UPLOT_DIR}/uPlot.iife.min.js)
  message(FATAL_ERROR "web/node_modules is missing: run "
                      "scripts/install-deps.sh web (npm ci in web/)")
endif()

# name|media type|file; the name "" is the page served at GET /. Text
# types are sent with "; charset=utf-8"..
set(SB_WEB_ASSETS
  "|text/html|${SB_WEB_DIR}/index.html"
  "app.js|text/javascript|${SB_WEB_DIR}/app.js"
  "style.css|text/css|${SB_WEB_DIR}/style.css"
  "uPlot.min.js|text/javascript|${SB_UPLOT_DIR}/uPlot.iife.min.js"
  "uPlot.min.css|text/css|${SB_UPLOT_DIR}/uPlot.min.css")
set(SB_WEB_FILES "")
foreach(entry IN LISTS SB_WEB_ASSETS)
  string(REGEX REPLACE "^[^|]*\\|[^|]*\\|" "" file "${entry}")
  list(APPEND SB_WEB_FILES ${file})
endforeach()

set(SB_WEB_C ${CMAKE_BINARY_DIR}/generated/web_assets.c)
# Entries are passed comma-separated (a ';' would split the argument).
string(REPLACE ";" "," SB_WEB_ASSETS_ARG "${SB_WEB_ASSETS}")
add_custom_command(
  OUTPUT ${SB_WEB_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${SB_WEB_C} "-DASSETS=${SB_WEB_ASSETS_ARG}"
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
  DEPENDS ${SB_WEB_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
  COMMENT "Embedding the dashboard (web/)"
  VERBATIM)
target_sources(scoreboard_lib PRIVATE ${SB_WEB_C})
