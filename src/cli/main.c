/*
 * main.c - the `scoreboard` binary: picks the command and hands over.
 * Everything else lives in the other files of src/cli/ so it can be
 * unit-tested.
 */
#include "cli/cli.h"

#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL) {
        sb__cli_usage(stderr);
        return SB_CLI_EXIT_USAGE;
    }
    if (strcmp(cmd, "serve") == 0)
        return sb__cli_serve_main(argc - 2, argv + 2, environ);
    if (strcmp(cmd, "push") == 0)
        return sb__cli_push_main(argc - 2, argv + 2, environ);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("scoreboard %s\n", sb_version());
        return SB_CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        sb__cli_usage(stdout);
        return SB_CLI_EXIT_OK;
    }
    fprintf(stderr,
            "scoreboard: unknown command '%s'\n"
            "Run 'scoreboard --help' for usage.\n",
            cmd);
    return SB_CLI_EXIT_USAGE;
}
