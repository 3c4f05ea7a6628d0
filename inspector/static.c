/* SPDX-License-Identifier: MIT
 *
 * Serves the inspector page from HOOKGATE_WEB_DIR: "/" is index.html,
 * "/assets/<name>" a file of that directory and "/assets/vendor/<name>" a
 * file of its vendor/ directory, where the build copies third-party files
 * (docs/inspector.md). Names are restricted to one path segment of safe
 * characters, so no request can leave the directory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspector/inspector.h"

#define FILE_MAX_BYTES (8 * 1024 * 1024)

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".map", "application/json"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

static bool name_safe(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > 100)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return strstr(name, "..") == NULL;
}

static void security_headers(hg_req *r)
{
    hg_reply_header(r, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; "
                    "frame-ancestors 'none'; base-uri 'none'");
    hg_reply_header(r, "X-Content-Type-Options", "nosniff");
    hg_reply_header(r, "Referrer-Policy", "no-referrer");
    hg_reply_header(r, "X-Frame-Options", "DENY");
}

/* NOTE: files are read with blocking calls. They are a few small files
 * that stay in the page cache, so the loop stalls for microseconds. */
static void send_file(hg_req *r, const char *name)
{
    char path[PATH_MAX + 128];
    const char *type = content_type(name);
    struct stat st;
    char *data;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", insp->cfg->web_dir, name);
    fd = type ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > FILE_MAX_BYTES) {
        if (fd >= 0)
            close(fd);
        hg_reply_problem(r, HG_E_NOT_FOUND, "no file named %s", name);
        return;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL ||
        read(fd, data, (size_t)st.st_size) != (ssize_t)st.st_size) {
        close(fd);
        free(data);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "cannot read %s", name);
        return;
    }
    close(fd);
    security_headers(r);
    hg_reply_header(r, "Cache-Control", "no-cache");
    hg_reply(r, 200, type, data, (size_t)st.st_size);
    free(data);
}

void insp_index(hg_req *r)
{
    send_file(r, "index.html");
}

void insp_static(hg_req *r)
{
    char name[HG_PARAM_MAX + 8];
    bool vendor = strncmp(r->route->pattern, "/assets/vendor/", 15) == 0;

    if (!name_safe(r->params[0])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "no such asset");
        return;
    }
    snprintf(name, sizeof(name), "%s%s", vendor ? "vendor/" : "",
             r->params[0]);
    send_file(r, name);
}
