/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands: stat, trace, probe and export in user/cmd/<name>.c,
 * top in user/top/, diagnose in user/diagnose/, enforce in user/enforce/;
 * each with its own help. */
#ifndef DMAWATCH_COMMANDS_H
#define DMAWATCH_COMMANDS_H

struct engine_opts;

/* A command runs with the engine's options dmawatch took before it (-v,
 * -K, -D, -F); argv[0] is the command name. */
typedef int (*command_fn)(const struct engine_opts *o, int argc, char **argv);

struct command {
	const char *name;
	command_fn run;
	const char *summary;
};

int cmd_probe(const struct engine_opts *o, int argc, char **argv);
int cmd_stat(const struct engine_opts *o, int argc, char **argv);
int cmd_trace(const struct engine_opts *o, int argc, char **argv);
int cmd_top(const struct engine_opts *o, int argc, char **argv);
int cmd_export(const struct engine_opts *o, int argc, char **argv);
int cmd_diagnose(const struct engine_opts *o, int argc, char **argv);
int cmd_enforce(const struct engine_opts *o, int argc, char **argv);

struct loop_opts;
/* [INTERVAL [COUNT]] positional arguments, shared by the periodic commands. */
int parse_interval_args(int argc, char **argv, int first, struct loop_opts *o);

#endif
