/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands: each lives in its own user/<name>.c with its own help. */
#ifndef DMAWATCH_COMMANDS_H
#define DMAWATCH_COMMANDS_H

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
};

int cmd_probe(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
int cmd_enforce(int argc, char **argv);

struct loop_opts;
/* [INTERVAL [COUNT]] positional arguments, shared by the periodic commands. */
int parse_interval_args(int argc, char **argv, int first, struct loop_opts *o);

#endif
