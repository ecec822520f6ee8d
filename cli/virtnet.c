/*
 * virtnet.c - the `virtnet` command: a thin JSON-RPC client of
 * virtio_net_controller.
 *
 * Every sub-command of the vendor's CLI, with its short and long options,
 * turns into one JSON-RPC call (docs/rpc.md); the result is printed as
 * pretty JSON.  Only syntax is checked here (integers are integers,
 * required options are present, selectors do not clash); what the values
 * mean is the daemon's business.
 *
 * Exit status: 0 success (and `-h` on any command, help on stdout); 1 the
 * controller answered an error (one line on stderr), `validate` found the
 * configuration invalid, or a file to send could not be read; 2 usage error
 * (one line and a hint on stderr); 3 the controller could not be reached or
 * did not answer (one line naming the socket).
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "paths.h"
#include "rpc_client.h"
#include "util.h"

#define EXIT_RPC_ERROR 1
#define EXIT_USAGE 2
#define EXIT_CONNECT 3
/* parse_opts() printed the help: the command exits 0 without a call. */
#define HELP_SHOWN (-1)
#define CONFIG_MAX (1024 * 1024)
/* Width of the option column in help texts. */
#define HELP_COLUMN 40
/* debug KEY=VALUE: whole numbers up to this magnitude stay exact in JSON. */
#define DEBUG_INT_MAX (1ll << 53)

enum opt_kind {
    O_FLAG,   /* sets the member to true */
    O_U32,    /* a decimal integer */
    O_STR,    /* a string */
    O_HEX,    /* a feature mask: hex (0x...) or decimal, sent as the string given */
};

/* getopt_long()'s value for long-only option i (above every char). */
#define LONG_ONLY_VAL 0x100

struct cli_opt {
    char short_name;          /* '\0' for a long-only option */
    const char *long_name;
    const char *metavar;      /* NULL for a flag */
    enum opt_kind kind;
    const char *member;       /* params member it sets */
    bool required;
    const char *help;
};

struct cli_cmd;
typedef int cmd_fn(const struct cli_cmd *cmd, int argc, char **argv);

struct cli_cmd {
    const char *name;
    const char *help;
    const char *synopsis;     /* after "usage: virtnet NAME" */
    const struct cli_opt *opts;
    size_t n_opts;
    cmd_fn *run;
    const char *epilog;       /* extra help text, or NULL */
    /* Checks run_simple() makes after parsing: */
    enum { SEL_NONE, SEL_OPTIONAL, SEL_REQUIRED } selector; /* -p PF [-v VF] | -u VUID */
    const char *one_of[2];    /* exactly one of these two members, or NULL */
};

static const char *sock_path;
static int timeout_s = 60;

/* ---- help ------------------------------------------------------------- */

static void print_opts(FILE *f, const struct cli_opt *opts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = &opts[i];
        char left[64];

        if (!o->short_name)
            snprintf(left, sizeof(left), "--%s%s%s", o->long_name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        else if (o->metavar)
            snprintf(left, sizeof(left), "-%c %s, --%s %s", o->short_name, o->metavar,
                     o->long_name, o->metavar);
        else
            snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->long_name);
        /* As argparse does: a long left column puts the help on the next line. */
        if (strlen(left) > HELP_COLUMN)
            fprintf(f, "  %s\n  %-*s %s%s\n", left, HELP_COLUMN, "", o->help,
                    o->required ? " (required)" : "");
        else
            fprintf(f, "  %-*s %s%s\n", HELP_COLUMN, left, o->help,
                    o->required ? " (required)" : "");
    }
}

static void cmd_help(const struct cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: virtnet %s %s\n\n%s\n\noptions:\n  %-*s %s\n", cmd->name, cmd->synopsis,
            cmd->help, HELP_COLUMN, "-h, --help", "show this help message and exit");
    print_opts(f, cmd->opts, cmd->n_opts);
    if (cmd->epilog)
        fprintf(f, "\n%s", cmd->epilog);
}

static int usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "virtnet%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'virtnet %s%s-h'.\n", cmd ? cmd->name : "", cmd ? " " : "");
    return EXIT_USAGE;
}

/* ---- the call ---------------------------------------------------------- */

/* Prints 'j' as pretty JSON on stdout.  Returns 0 or a negative errno. */
static int print_json(const cJSON *j)
{
    char *text = vn_json_print_pretty(j);
    int ret = 0;

    if (!text)
        return -ENOMEM;
    errno = 0;
    if (puts(text) == EOF || fflush(stdout) == EOF)
        ret = errno ? -errno : -EIO;
    free(text);
    return ret;
}

/*
 * Calls 'method' with 'params' (consumed; an empty object is sent as no
 * params) and prints the answer with 'print' (pretty JSON when NULL).
 * Returns the exit status; on success with 'keep_result', the result is
 * handed to the caller.
 */
static int call_print(const char *method, cJSON *params, cJSON **keep_result,
                      int (*print)(const cJSON *result))
{
    struct vn_rpc_response resp;
    int ret;

    if (params && !params->child) {
        cJSON_Delete(params);
        params = NULL;
    }
    ret = vn_rpc_call(sock_path, method, params, timeout_s * 1000, &resp);

    if (ret < 0) {
        const char *why = ret == -ENOENT         ? "no such socket (is virtio_net_controller running?)"
                          : ret == -ECONNREFUSED ? "connection refused (is virtio_net_controller running?)"
                          : ret == -ENAMETOOLONG ? "the path is too long for a unix socket"
                          : ret == -ETIMEDOUT    ? "no answer in time (see --timeout)"
                          : ret == -ECONNRESET   ? "the connection closed without an answer"
                          : ret == -EPROTO       ? "the answer is not a JSON-RPC response to the request"
                          : ret == -EMSGSIZE     ? "the answer is larger than 64 MiB"
                                                 : strerror(-ret);

        fprintf(stderr, "virtnet: cannot talk to the controller at %s: %s\n", sock_path, why);
        return EXIT_CONNECT;
    }
    if (!resp.result) {
        /* One line, whatever the message holds. */
        for (char *p = resp.err_message; *p; p++)
            if (iscntrl((unsigned char)*p))
                *p = ' ';
        fprintf(stderr, "virtnet: error: %s (code %d)\n", resp.err_message, resp.err_code);
        vn_rpc_response_fini(&resp);
        return EXIT_RPC_ERROR;
    }
    ret = (print ? print : print_json)(resp.result);
    if (ret < 0) {
        fprintf(stderr, "virtnet: error: cannot print the answer: %s\n", strerror(-ret));
        vn_rpc_response_fini(&resp);
        return EXIT_RPC_ERROR;
    }
    if (keep_result) {
        *keep_result = resp.result;
        resp.result = NULL;
    }
    vn_rpc_response_fini(&resp);
    return 0;
}

static int call(const char *method, cJSON *params, cJSON **keep_result)
{
    return call_print(method, params, keep_result, NULL);
}

/* ---- option parsing ------------------------------------------------------ */

/*
 * Parses argv (argv[0] is the command's name) against 'opts' into members
 * of 'params', from argv[1] on; leaves optind at the first argument that is
 * not an option.  Stops at the first non-option argument when
 * 'stop_at_positional', else collects them after the options.  Returns 0,
 * HELP_SHOWN (-h: the help is printed on stdout), or EXIT_USAGE (message
 * printed).
 */
static int parse_opts(const struct cli_cmd *cmd, const struct cli_opt *opts, size_t n, int argc,
                      char **argv, cJSON *params, bool stop_at_positional)
{
    struct option longopts[24];
    char shortopts[64];
    size_t si = 0;
    int c;

    if (stop_at_positional)
        shortopts[si++] = '+';
    shortopts[si++] = ':';
    shortopts[si++] = 'h';
    longopts[0] = (struct option){ "help", no_argument, NULL, 'h' };
    for (size_t i = 0; i < n; i++) {
        /* A long-only option is told apart by a value no short option has. */
        longopts[i + 1] = (struct option){ opts[i].long_name,
                                           opts[i].metavar ? required_argument : no_argument, NULL,
                                           opts[i].short_name ? opts[i].short_name
                                                              : LONG_ONLY_VAL + (int)i };
        if (!opts[i].short_name)
            continue;
        shortopts[si++] = opts[i].short_name;
        if (opts[i].metavar)
            shortopts[si++] = ':';
    }
    longopts[n + 1] = (struct option){ NULL, 0, NULL, 0 };
    shortopts[si] = '\0';

    opterr = 0;
    optind = 0; /* glibc: start afresh, honouring this optstring's '+' */
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const struct cli_opt *o = NULL;

        if (c == 'h') {
            cmd_help(cmd, stdout);
            return HELP_SHOWN;
        }
        if (c == '?')
            return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (c == ':')
            return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        for (size_t i = 0; i < n; i++)
            if (opts[i].short_name ? opts[i].short_name == c : LONG_ONLY_VAL + (int)i == c)
                o = &opts[i];
        if (!o)
            return usage_error(cmd, "unexpected option");
        if (cJSON_GetObjectItemCaseSensitive(params, o->member))
            return usage_error(cmd, "--%s given twice", o->long_name);
        switch (o->kind) {
        case O_FLAG:
            vn_json_add_bool(params, o->member, true);
            break;
        case O_U32: {
            uint64_t v;

            if (vn_parse_u64(optarg, 10, 0, UINT32_MAX, &v) < 0)
                return usage_error(cmd, "--%s: '%s' is not a whole number in [0, %u]",
                                   o->long_name, optarg, UINT32_MAX);
            vn_json_add_num(params, o->member, (double)v);
            break;
        }
        case O_HEX: {
            uint64_t v;

            /* The syntax the controller accepts (vn_json_get_u64); it judges the bits. */
            if (vn_parse_u64(optarg, strncmp(optarg, "0x", 2) && strncmp(optarg, "0X", 2) ? 10 : 16,
                             0, UINT64_MAX, &v) < 0)
                return usage_error(cmd, "--%s: '%s' is not a number (hex with 0x, or decimal)",
                                   o->long_name, optarg);
            vn_json_add_str(params, o->member, optarg);
            break;
        }
        case O_STR:
            vn_json_add_str(params, o->member, optarg);
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (opts[i].required && !cJSON_GetObjectItemCaseSensitive(params, opts[i].member))
            return opts[i].short_name
                       ? usage_error(cmd, "the option -%c/--%s is required", opts[i].short_name,
                                     opts[i].long_name)
                       : usage_error(cmd, "the option --%s is required", opts[i].long_name);
    return 0;
}

static bool has(const cJSON *params, const char *member)
{
    return cJSON_GetObjectItemCaseSensitive(params, member) != NULL;
}

/* -p PF [-v VF] | -u VUID: returns a usage status or 0. 'required': one must be given. */
static int check_selector(const struct cli_cmd *cmd, const cJSON *params, bool required)
{
    if (has(params, "vuid") && (has(params, "pf") || has(params, "vf")))
        return usage_error(cmd, "give either -p PF [-v VF] or -u VUID, not both");
    if (has(params, "vf") && !has(params, "pf"))
        return usage_error(cmd, "-v VF needs -p PF");
    if (required && !has(params, "pf") && !has(params, "vuid"))
        return usage_error(cmd, "one of -p PF or -u VUID is required");
    return 0;
}

/*
 * Runs a command whose params are just its options, after the checks its
 * table entry asks for (selector, exactly-one-of).
 */
static int run_simple(const struct cli_cmd *cmd, int argc, char **argv)
{
    cJSON *params = cJSON_CreateObject();
    const char *a = cmd->one_of[0], *b = cmd->one_of[1];
    int ret = parse_opts(cmd, cmd->opts, cmd->n_opts, argc, argv, params, false);

    if (!ret && optind < argc)
        ret = usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!ret && cmd->selector != SEL_NONE)
        ret = check_selector(cmd, params, cmd->selector == SEL_REQUIRED);
    if (!ret && has(params, "all") && (has(params, "pf") || has(params, "vuid")))
        ret = usage_error(cmd, "-a cannot be combined with -p or -u");
    if (!ret && a && has(params, a) == has(params, b))
        ret = usage_error(cmd, "exactly one of --%s or --%s is required", a, b);
    if (ret) {
        cJSON_Delete(params);
        return ret == HELP_SHOWN ? 0 : ret;
    }
    return call(cmd->name, params, NULL);
}

/* ---- the sub-commands ------------------------------------------------------ */

#define SELECTOR_OPTS                                                                          \
    { 'p', "pf", "PF", O_U32, "pf", false, "PF id (see virtnet list)" },                       \
    { 'v', "vf", "VF", O_U32, "vf", false, "VF id, with -p (see virtnet list)" },              \
    { 'u', "vuid", "VUID", O_STR, "vuid", false, "VUID of the device (see virtnet list)" }

static const struct cli_opt hotplug_opts[] = {
    { 'i', "ib_device", "IB_DEVICE", O_STR, "ib_device", true,
      "RDMA device of the port: mlx5_0 (port 1), mlx5_1 (port 2), mlx5_bond_0 (LAG)" },
    { 'm', "mac", "MAC", O_STR, "mac", true, "MAC address of the device" },
    { 't', "mtu", "MTU", O_U32, "mtu", true, "MTU of the device" },
    { 'n', "max_queues", "MAX_QUEUES", O_U32, "max_queues", true, "number of virtqueues" },
    { 's', "max_queue_size", "MAX_QUEUE_SIZE", O_U32, "max_queue_size", true,
      "entries per virtqueue (a power of two)" },
    { 'u', "sf_num", "SF_NUM", O_U32, "sf_num", false, "SF number of the representor (>= 1000)" },
    { 'f', "features", "FEATURES", O_HEX, "features", false,
      "feature bits to enable in addition to the defaults, hex (see virtnet list)" },
    { 'l', "legacy", NULL, O_FLAG, "legacy", false, "create a transitional (virtio 0.95) device" },
    { 'S', "vhost-server-path", "PATH", O_STR, "vhost_server_path", false,
      "vhost-user client mode: connect to the front-end listening on PATH (default: listen)" },
};

static const struct cli_opt unplug_opts[] = {
    { 'p', "pf", "PF", O_U32, "pf", false, "PF id of the hotplug device" },
    { 'u', "vuid", "VUID", O_STR, "vuid", false, "VUID of the hotplug device" },
};

static const struct cli_opt query_opts[] = {
    { 'a', "all", NULL, O_FLAG, "all", false, "query all devices (the default)" },
    SELECTOR_OPTS,
    { 'b', "brief", NULL, O_FLAG, "brief", false, "leave out queue information" },
};

static const struct cli_opt modify_sel_opts[] = { SELECTOR_OPTS };

static const struct cli_opt modify_dev_opts[] = {
    { 'm', "mac", "MAC", O_STR, "mac", false, "new MAC address" },
    { 't', "mtu", "MTU", O_U32, "mtu", false, "new MTU" },
    { 'f', "features", "FEATURES", O_HEX, "features", false, "new feature bits, hex" },
    { 'q', "max_queue_size", "MAX_QUEUE_SIZE", O_U32, "max_queue_size", false,
      "new max queue size" },
    { 'n', "msix_num", "MSIX_NUM", O_U32, "msix_num", false,
      "new number of MSI-X vectors (VFs only)" },
    /* The vendor's 25.x names (mrg_rxbuf, packed_vq); its flag letters are not known. */
    { '\0', "packed_vq", "{0,1}", O_U32, "packed_vq", false,
      "1: offer packed virtqueues (VIRTIO_F_RING_PACKED), 0: split only; refused while a "
      "driver runs on the device" },
    { '\0', "mrg_rxbuf", "{0,1}", O_U32, "mrg_rxbuf", false,
      "1: offer mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF), 0: do not; refused while "
      "a driver runs on the device" },
};

static const struct cli_opt modify_queue_opts[] = {
    { 'e', "event_mode", "MODE", O_STR, "event_mode", false,
      "interrupt mode: event or adaptive (virtnet list: supported_event_modes)" },
    { 'n', "period", "PERIOD", O_U32, "period", false,
      "interrupt coalescing period, microseconds" },
    { 'c', "max_count", "MAX_COUNT", O_U32, "max_count", false,
      "completions per interrupt at most" },
    { 'q', "queue_id", "QUEUE_ID", O_U32, "queue_id", false,
      "only this queue (default: every queue)" },
};

static const struct cli_cmd modify_dev_cmd = {
    "modify device", "modify device options", "[-h] [-m MAC] [-t MTU] [-f FEATURES] "
    "[-q MAX_QUEUE_SIZE] [-n MSIX_NUM] [--packed_vq {0,1}] [--mrg_rxbuf {0,1}]", modify_dev_opts, VN_ARRAY_SIZE(modify_dev_opts), NULL, NULL,
};
static const struct cli_cmd modify_queue_cmd = {
    "modify queue", "modify queue options", "[-h] [-e MODE] [-n PERIOD] [-c MAX_COUNT] "
    "[-q QUEUE_ID]", modify_queue_opts, VN_ARRAY_SIZE(modify_queue_opts), NULL, NULL,
};

/*
 * modify {-p PF [-v VF] | -u VUID} {device,queue} OPTIONS: the selector is
 * modify's, the options belong to the target, as in the vendor's argparse
 * sub-parsers.  The selector is checked after the target's options so that
 * `virtnet modify device -h` shows the device options.
 */
static int run_modify(const struct cli_cmd *cmd, int argc, char **argv)
{
    cJSON *params = cJSON_CreateObject();
    const struct cli_cmd *sub;
    int before, ret = parse_opts(cmd, modify_sel_opts, VN_ARRAY_SIZE(modify_sel_opts), argc, argv,
                                 params, true);

    if (!ret && optind >= argc)
        ret = usage_error(cmd, "'device' or 'queue' expected after the device selector");
    if (ret)
        goto out;
    if (!strcmp(argv[optind], "device")) {
        sub = &modify_dev_cmd;
    } else if (!strcmp(argv[optind], "queue")) {
        sub = &modify_queue_cmd;
    } else {
        ret = usage_error(cmd, "'device' or 'queue' expected, not '%s'", argv[optind]);
        goto out;
    }
    vn_json_add_str(params, "target", argv[optind]);
    argc -= optind;
    argv += optind;
    before = cJSON_GetArraySize(params);
    ret = parse_opts(sub, sub->opts, sub->n_opts, argc, argv, params, false);
    if (!ret && optind < argc)
        ret = usage_error(sub, "unexpected argument '%s'", argv[optind]);
    if (!ret && cJSON_GetArraySize(params) == before)
        ret = usage_error(sub, "nothing to modify: give at least one option");
    if (!ret)
        ret = check_selector(cmd, params, true);
    if (ret)
        goto out;
    return call("modify", params, NULL);
out:
    cJSON_Delete(params);
    return ret == HELP_SHOWN ? 0 : ret;
}

static const struct cli_opt log_opts[] = {
    { 'm', "module", "MODULE", O_STR, "module", false,
      "module, or all (default); `virtnet log` lists them" },
    { 'l', "level", "LEVEL", O_STR, "level", false, "error, warn, info or debug" },
};

static const struct cli_opt validate_opts[] = {
    { 'f', "file", "FILE", O_STR, "path", false,
      "configuration file to check (default: the controller's own)" },
};

static int run_validate(const struct cli_cmd *cmd, int argc, char **argv)
{
    cJSON *params = cJSON_CreateObject(), *result = NULL;
    const cJSON *path, *valid;
    char *text;
    size_t len;
    int ret = parse_opts(cmd, cmd->opts, cmd->n_opts, argc, argv, params, false);

    if (!ret && optind < argc)
        ret = usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (ret) {
        cJSON_Delete(params);
        return ret == HELP_SHOWN ? 0 : ret;
    }
    path = cJSON_GetObjectItemCaseSensitive(params, "path");
    if (path) {
        ret = vn_read_file(path->valuestring, CONFIG_MAX, &text, &len);
        if (ret < 0) {
            fprintf(stderr, "virtnet: error: cannot read %s: %s\n", path->valuestring,
                    ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret));
            cJSON_Delete(params);
            return EXIT_RPC_ERROR;
        }
        if (strlen(text) != len) {
            fprintf(stderr, "virtnet: error: %s is not a text file\n", path->valuestring);
            free(text);
            cJSON_Delete(params);
            return EXIT_RPC_ERROR;
        }
        vn_json_add_str(params, "config", text);
        free(text);
    }
    ret = call(cmd->name, params, &result);
    if (ret)
        return ret;
    valid = cJSON_GetObjectItemCaseSensitive(result, "valid");
    ret = cJSON_IsTrue(valid) ? 0 : EXIT_RPC_ERROR;
    cJSON_Delete(result);
    return ret;
}

static const struct cli_opt update_opts[] = {
    { 's', "start", NULL, O_FLAG, "start", false, "start a live update to the installed controller" },
    { 't', "status", NULL, O_FLAG, "status", false, "show the live update status" },
    { 'w', "wait", NULL, O_FLAG, "wait", false,
      "with -s: answer when the update has ended (its outcome), not when it starts" },
};

/* The vendor's help strings (DOCA 2.10 guide). */
static const struct cli_opt stats_opts[] = {
    { 'p', "pf", "PF", O_U32, "pf", false,
      "Unique device ID for the PF. Can be retrieved by using virtnet list." },
    { 'v', "vf", "VF", O_U32, "vf", false,
      "Unique device ID for the VF. Can be retrieved by using virtnet list." },
    { 'u', "vuid", "VUID", O_STR, "vuid", false,
      "Unique device SN for the device (PF/VF). Can be retrieved by using virtnet list." },
    { 'q', "queue_id", "QUEUE_ID", O_U32, "queue_id", false,
      "Queue index of the device RQs or SQs" },
};

/*
 * debug CMD [KEY=VALUE ...] -> {"cmd": CMD, "args": {KEY: VALUE, ...}}: a
 * VALUE that is a whole decimal number (within +-2^53) is sent as a number,
 * true and false as booleans, anything else as a string.
 */
static int run_debug(const struct cli_cmd *cmd, int argc, char **argv)
{
    cJSON *params = cJSON_CreateObject(), *args = cJSON_CreateObject();
    int ret = parse_opts(cmd, NULL, 0, argc, argv, params, true);

    if (!ret && optind >= argc)
        ret = usage_error(cmd, "a debug command is expected");
    if (ret)
        goto out;
    vn_json_add_str(params, "cmd", argv[optind++]);
    for (; optind < argc; optind++) {
        char *eq = strchr(argv[optind], '=');
        const char *val;
        int64_t i;

        if (!eq || eq == argv[optind]) {
            ret = usage_error(cmd, "'%s': arguments are KEY=VALUE", argv[optind]);
            goto out;
        }
        *eq = '\0';
        val = eq + 1;
        if (cJSON_GetObjectItemCaseSensitive(args, argv[optind])) {
            ret = usage_error(cmd, "'%s' given twice", argv[optind]);
            goto out;
        }
        if (vn_parse_i64(val, -DEBUG_INT_MAX, DEBUG_INT_MAX, &i) == 0)
            vn_json_add_num(args, argv[optind], (double)i);
        else if (!strcmp(val, "true") || !strcmp(val, "false"))
            vn_json_add_bool(args, argv[optind], !strcmp(val, "true"));
        else
            vn_json_add_str(args, argv[optind], val);
    }
    vn_json_add(params, "args", args);
    return call(cmd->name, params, NULL);
out:
    cJSON_Delete(args);
    cJSON_Delete(params);
    return ret == HELP_SHOWN ? 0 : ret;
}

/* Prints the "text" member of a `metrics` result as it is. */
static int print_metrics_text(const cJSON *result)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(result, "text");

    if (!cJSON_IsString(text))
        return -EPROTO;
    errno = 0;
    if (fputs(text->valuestring, stdout) == EOF || fflush(stdout) == EOF)
        return errno ? -errno : -EIO;
    return 0;
}

/* metrics: the Prometheus text, not JSON (for node_exporter's textfile collector). */
static int run_metrics(const struct cli_cmd *cmd, int argc, char **argv)
{
    cJSON *params = cJSON_CreateObject();
    int ret = parse_opts(cmd, NULL, 0, argc, argv, params, false);

    if (!ret && optind < argc)
        ret = usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (ret) {
        cJSON_Delete(params);
        return ret == HELP_SHOWN ? 0 : ret;
    }
    return call_print(cmd->name, params, NULL, print_metrics_text);
}

#define CMD(NAME, HELP, SYN, OPTS, RUN, EPI, ...) \
    { NAME, HELP, SYN, OPTS, VN_ARRAY_SIZE(OPTS), RUN, EPI, __VA_ARGS__ }
#define CMD_NOOPTS(NAME, HELP, RUN, EPI) { NAME, HELP, "[-h]", NULL, 0, RUN, EPI, SEL_NONE, { 0 } }

static const struct cli_cmd commands[] = {
    CMD("hotplug", "hotplug virtnet device",
        "-i IB_DEVICE -m MAC -t MTU -n MAX_QUEUES -s MAX_QUEUE_SIZE [-h] [-u SF_NUM] "
        "[-f FEATURES] [-l]",
        hotplug_opts, run_simple,
        "example:\n  virtnet hotplug -i mlx5_0 -f 0x80000 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 1024\n",
        SEL_NONE, { 0 }),
    CMD("unplug", "unplug virtnet device", "[-h] {-p PF | -u VUID}", unplug_opts, run_simple,
        "Only hotplug devices can be unplugged.\n", SEL_NONE, { "pf", "vuid" }),
    CMD_NOOPTS("list", "list all virtnet devices", run_simple, NULL),
    CMD("query", "query all or individual virtnet device(s)",
        "[-h] [-a | -p PF [-v VF] | -u VUID] [-b]", query_opts, run_simple, NULL, SEL_OPTIONAL,
        { 0 }),
    { "modify", "modify virtnet device",
      "[-h] {-p PF [-v VF] | -u VUID} {device,queue} ...", modify_sel_opts,
      VN_ARRAY_SIZE(modify_sel_opts), run_modify,
      "device options (virtnet modify ... device -h):\n"
      "  -m MAC, -t MTU, -f FEATURES, -q MAX_QUEUE_SIZE, -n MSIX_NUM (VFs only),\n"
      "  --packed_vq {0,1}, --mrg_rxbuf {0,1} (refused while a driver runs)\n"
      "queue options (virtnet modify ... queue -h):\n"
      "  -e MODE (event, adaptive), -n PERIOD (us), -c MAX_COUNT, -q QUEUE_ID\n"
      "MAC, MTU, features, MSI-X and queue size take effect when the host driver next\n"
      "resets the device (unbind and bind it in the guest).\n"
      "examples:\n  virtnet modify -p 0 device -m 0C:C4:7A:FF:22:93\n"
      "  virtnet modify -p 0 -v 0 device -n 8\n  virtnet modify -p 0 queue -e event -n 10 -c 30\n" },
    CMD("log", "set log level", "[-h] [-m MODULE] [-l LEVEL]", log_opts, run_simple,
        "Without -l, shows the current levels.\n", SEL_NONE, { 0 }),
    CMD_NOOPTS("version", "show virtio net controller version info", run_simple, NULL),
    CMD_NOOPTS("restart", "Do fast restart of controller without killing the service", run_simple,
               NULL),
    CMD("validate", "validate configurations", "[-h] [-f FILE]", validate_opts, run_validate,
        "Exit status 1 when the configuration is not valid; every problem is listed.\n", SEL_NONE,
        { 0 }),
    CMD("update", "update controller", "[-h] {-s [-w] | -t}", update_opts, run_simple, NULL,
        SEL_NONE,
        { "start", "status" }),
    CMD_NOOPTS("health", "controller health utility", run_simple, NULL),
    { "debug", "For debug purpose, cmds can be changed without notice", "[-h] CMD [KEY=VALUE ...]",
      NULL, 0, run_debug,
      "commands:\n  num_vfs pf=PF num_vfs=N   the host sets sriov_numvfs of static PF PF\n"
      "  fault point=NAME          fail the next pass through a fault point (tests)\n" },
    CMD("stats", "stats of virtnet device", "[-h] {[-p PF] [-v VF] | [-u VUID]} [-q QUEUE_ID]",
        stats_opts, run_simple, "The controller needs -p PF [-v VF] or -u VUID.\n", SEL_OPTIONAL,
        { 0 }),
    CMD_NOOPTS("metrics", "Prometheus text exposition of the counters and health", run_metrics,
               "Prints the text format 0.0.4 (not JSON), e.g. for node_exporter's textfile\n"
               "collector:\n"
               "  virtnet metrics > /var/lib/node_exporter/virtnet.prom.$$ &&\n"
               "    mv /var/lib/node_exporter/virtnet.prom.$$ /var/lib/node_exporter/virtnet.prom\n"
               "The same text is served over HTTP when virtnet.conf sets metrics.listen.\n"),
};

static void main_help(FILE *f)
{
    fprintf(f, "usage: virtnet [-h] [-v] [--socket PATH] [--timeout SECONDS] {");
    for (size_t i = 0; i < VN_ARRAY_SIZE(commands); i++)
        fprintf(f, "%s%s", i ? "," : "", commands[i].name);
    fprintf(f, "} ...\n\nvirtio-net-controller command line interface v%s\n\n"
               "positional arguments:\n", VN_VERSION);
    for (size_t i = 0; i < VN_ARRAY_SIZE(commands); i++)
        fprintf(f, "    %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\noptions:\n"
               "  -h, --help            show this help message and exit\n"
               "  -v, --version         show program's version number and exit\n"
               "  -s, --socket PATH     controller socket (default $%s or %s)\n"
               "  --timeout SECONDS     give up after this long (default 60)\n"
               "\nEach command has its own help, e.g. virtnet list -h\n",
            VN_ENV_SOCKET, VN_DEFAULT_RPC_SOCKET);
}

int main(int argc, char **argv)
{
    enum { OPT_TIMEOUT = 256 };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },
        { "socket", required_argument, NULL, 's' },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { NULL, 0, NULL, 0 },
    };
    uint64_t v;
    int c;

    sock_path = getenv(VN_ENV_SOCKET);
    if (!sock_path || !*sock_path)
        sock_path = VN_DEFAULT_RPC_SOCKET;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hvs:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            main_help(stdout);
            return 0;
        case 'v':
            printf("v%s\n", VN_VERSION);
            return 0;
        case 's':
            if (!*optarg)
                return usage_error(NULL, "--socket: the path is empty");
            sock_path = optarg;
            break;
        case OPT_TIMEOUT:
            if (vn_parse_u64(optarg, 10, 1, 3600, &v) < 0)
                return usage_error(NULL, "--timeout: whole seconds in [1, 3600]");
            timeout_s = (int)v;
            break;
        case ':':
            return usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error(NULL, "a command is expected");
    for (size_t i = 0; i < VN_ARRAY_SIZE(commands); i++)
        if (!strcmp(argv[optind], commands[i].name))
            return commands[i].run(&commands[i], argc - optind, argv + optind);
    fprintf(stderr, "virtnet: unknown command '%s'\nTry 'virtnet -h'.\n", argv[optind]);
    return EXIT_USAGE;
}
