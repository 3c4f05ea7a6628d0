/* SPDX-License-Identifier: MIT
 *
 * Fuzzes gw_token_form_parse() (gateway/oauth.c), the parser of the
 * application/x-www-form-urlencoded body of POST /oauth/token. The whole
 * input, NUL bytes included, is parsed as a body. The verdict and fields
 * must agree with a second, simpler parser written here from the rules of
 * gateway/gateway.h, also when HTTP Basic gave the client credentials
 * first. The input's lines are also taken as
 * the four parameter values, form-encoded in a way its first byte picks,
 * and must parse back to the same values, while the same form with one
 * parameter repeated is rejected.
 */
#include <ctype.h>
#include <stdbool.h>

#include "common/text.h"
#include "fuzz.h"
#include "gateway/gateway.h"

/* Definitions that oauth.c and auth.c take from the gateway's main.c and
 * audit.c. The parser never reaches them. */
const hg_config *gw_config;
atomic_bool gw_redis_verified;

void gw_audit(hg_req *r, const char *integration_id, const char *action,
              const char *target, json_t *details)
{
    (void)r;
    (void)integration_id;
    (void)action;
    (void)target;
    (void)details;
    abort();
}

#define NAME_MAX_BYTES 64 /* decoded name buffer of the parser, with NUL */

static const char *const param_names[4] = {"grant_type", "client_id",
                                           "client_secret", "scope"};
static const unsigned param_bits[4] = {GW_TOKEN_GRANT_TYPE,
                                       GW_TOKEN_CLIENT_ID,
                                       GW_TOKEN_CLIENT_SECRET, GW_TOKEN_SCOPE};

static char *form_field(gw_token_form *f, int i)
{
    char *fields[4] = {f->grant_type, f->client_id, f->client_secret,
                       f->scope};

    return fields[i];
}

/* Form-decodes n bytes into out (cap bytes with the NUL). Returns false
 * for a bad escape, a decoded NUL, or a result of cap bytes or more. */
static bool reference_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];

        if (c == '%') {
            int hi = i + 1 < n ? hg_hex_value(in[i + 1]) : -1;
            int lo = i + 2 < n ? hg_hex_value(in[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return false;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

/* The parser's rules, restated over a byte range: '&' separates pairs,
 * empty pairs are skipped, every other pair needs '=', both sides must
 * decode, and a known parameter may appear once (Basic counts). */
static bool reference_parse(const uint8_t *data, size_t size,
                            gw_token_form *f)
{
    const char *body = (const char *)data;
    size_t start = 0;

    if (memchr(data, '\0', size) != NULL)
        return false;
    while (start <= size) {
        const char *amp = memchr(body + start, '&', size - start);
        size_t end = amp != NULL ? (size_t)(amp - body) : size;
        const char *pair = body + start, *eq;
        size_t len = end - start;
        char name[NAME_MAX_BYTES], value[GW_TOKEN_FIELD_MAX];

        start = end + 1;
        if (len == 0)
            continue;
        eq = memchr(pair, '=', len);
        if (eq == NULL)
            return false;
        if (!reference_decode(pair, (size_t)(eq - pair), name, sizeof(name)) ||
            !reference_decode(eq + 1, len - (size_t)(eq - pair) - 1, value,
                              sizeof(value)))
            return false;
        for (int i = 0; i < 4; i++) {
            if (strcmp(name, param_names[i]) != 0)
                continue;
            if ((f->present & param_bits[i]) != 0)
                return false;
            f->present |= param_bits[i];
            strcpy(form_field(f, i), value);
        }
    }
    return true;
}

/* Checks what an accepted form holds: bounded, NUL-terminated values, and
 * a value only for a parameter marked as present. */
static void check_accepted(gw_token_form *f)
{
    FUZZ_CHECK((f->present & ~15u) == 0);
    for (int i = 0; i < 4; i++) {
        const char *v = form_field(f, i);

        FUZZ_CHECK(memchr(v, '\0', GW_TOKEN_FIELD_MAX) != NULL);
        if (v[0] != '\0')
            FUZZ_CHECK((f->present & param_bits[i]) != 0);
    }
}

static void check_same(gw_token_form *a, gw_token_form *b)
{
    FUZZ_CHECK(a->present == b->present);
    for (int i = 0; i < 4; i++)
        FUZZ_CHECK(strcmp(form_field(a, i), form_field(b, i)) == 0);
}

static void prefill_basic(gw_token_form *f)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->client_id, "cli_from_basic");
    strcpy(f->client_secret, "secret-from-basic");
    f->present = GW_TOKEN_CLIENT_ID | GW_TOKEN_CLIENT_SECRET;
}

/* Parses data into got with the parser and into want with the reference,
 * checks that both give the same verdict and fields, and returns it. */
static bool parse_both(const uint8_t *data, size_t size, gw_token_form *got,
                       gw_token_form *want)
{
    bool ok = gw_token_form_parse((const char *)data, size, got);

    FUZZ_CHECK(ok == reference_parse(data, size, want));
    if (ok) {
        check_accepted(got);
        check_same(got, want);
    }
    return ok;
}

static void check_raw_body(const uint8_t *data, size_t size)
{
    gw_token_form got, want;

    memset(&got, 0, sizeof(got));
    memset(&want, 0, sizeof(want));
    parse_both(data, size, &got, &want);

    /* After Basic, a body may not give client credentials again. */
    prefill_basic(&got);
    prefill_basic(&want);
    if (parse_both(data, size, &got, &want))
        FUZZ_CHECK(strcmp(got.client_id, "cli_from_basic") == 0);
}

/* Appends s to out, form-encoded: unreserved bytes as they are, a space
 * as '+' or %20, the rest as %XX in upper or lower case, as style picks. */
static size_t encode(const char *s, unsigned style, char *out)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p) != NULL)
            out[o++] = (char)*p;
        else if (*p == ' ' && (style & 1) == 0)
            out[o++] = '+';
        else
            o += (size_t)sprintf(out + o, (style & 2) ? "%%%02x" : "%%%02X",
                                 *p);
    }
    out[o] = '\0';
    return o;
}

/* Builds "name=value" pairs for the four values in an order that style
 * picks, with an unknown parameter and an empty pair among them. */
static size_t build_form(char *const values[4], unsigned style,
                         const char *extra, char *out)
{
    size_t o = 0;

    for (int k = 0; k < 4; k++) {
        int i = (int)((k + style / 4) % 4);

        o += (size_t)sprintf(out + o, "%s=", param_names[i]);
        o += encode(values[i], style, out + o);
        out[o++] = '&';
        if (k == 1) {
            o += (size_t)sprintf(out + o, "x_unknown=");
            o += encode(extra, style, out + o);
            o += (size_t)sprintf(out + o, "&&");
        }
    }
    out[o] = '\0';
    return o;
}

static void check_round_trip(const uint8_t *data, size_t size)
{
    unsigned style = size > 0 ? data[0] : 0;
    char *values[4], *extra, *form;
    size_t cap, len;
    gw_token_form f;
    bool fits = true;

    for (int i = 0; i < 4; i++) {
        values[i] = fuzz_next_line(&data, &size);
        fits = fits && strlen(values[i]) < GW_TOKEN_FIELD_MAX;
    }
    extra = fuzz_strndup(data, size);
    fits = fits && strlen(extra) < GW_TOKEN_FIELD_MAX;
    cap = 5 * (3 * GW_TOKEN_FIELD_MAX + 32);
    form = malloc(cap + 3 * GW_TOKEN_FIELD_MAX + 32);
    FUZZ_CHECK(form != NULL);

    if (fits) {
        len = build_form(values, style, extra, form);
        memset(&f, 0, sizeof(f));
        FUZZ_CHECK(gw_token_form_parse(form, len, &f));
        FUZZ_CHECK(f.present == 15u);
        for (int i = 0; i < 4; i++)
            FUZZ_CHECK(strcmp(form_field(&f, i), values[i]) == 0);

        /* The same form with one parameter given again, empty or not. */
        len += (size_t)sprintf(form + len, "%s=",
                               param_names[(style >> 3) % 4]);
        len += encode(values[(style >> 5) % 4], style, form + len);
        memset(&f, 0, sizeof(f));
        FUZZ_CHECK(!gw_token_form_parse(form, len, &f));
    }
    for (int i = 0; i < 4; i++)
        free(values[i]);
    free(extra);
    free(form);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_raw_body(data, size);
    check_round_trip(data, size);
    return 0;
}
