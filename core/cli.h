/* cli.h — the command line: global options, commands, exit codes. */
#ifndef KAM_CLI_H
#define KAM_CLI_H

int kam_main(int argc, char **argv);

#endif
