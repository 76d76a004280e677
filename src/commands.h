/* The subcommands: each takes argv with argv[0] = its own name. */
#ifndef FNGUARD_COMMANDS_H
#define FNGUARD_COMMANDS_H

int cmd_check(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
