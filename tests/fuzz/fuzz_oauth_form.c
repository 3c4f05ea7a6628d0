/* SPDX-License-Identifier: MIT
 *
 * Fuzzes gw_token_form_parse() and gw_token_basic_parse()
 * (gateway/oauth.c), the parsers of POST /oauth/token's
 * application/x-www-form-urlencoded body and of its HTTP Basic header.
 * The whole input, NUL bytes included, is parsed as a body. The verdict
 * and fields must agree with a second, simpler parser written here from
 * the rules of gateway/gateway.h, also when HTTP Basic gave the client
 * credentials first. The input's lines are also taken as the four
 * parameter values, form-encoded in a way its first byte picks. They must
 * parse back to the same values, also beside an unknown parameter whose
 * name and value are the rest of the input. The same form with one
 * parameter repeated is rejected. The first two lines, form-encoded and
 * in base64, must come back from the Basic parser. The input as a Basic
 * header must give bounded credentials or be rejected.
 */
#include <ctype.h>
#include <stdbool.h>

#include "common/crypto.h"
#include "common/text.h"
#include "fuzz.h"
#include "gateway/gateway.h"

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
 * decode whatever their length, a known parameter may appear once (Basic
 * counts) and its value must fit, and unknown parameters are ignored. */
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
        char *name, *value;
        bool ok = true;

        start = end + 1;
        if (len == 0)
            continue;
        eq = memchr(pair, '=', len);
        if (eq == NULL)
            return false;
        name = malloc(len + 1);
        value = malloc(len + 1);
        FUZZ_CHECK(name != NULL && value != NULL);
        ok = reference_decode(pair, (size_t)(eq - pair), name, len + 1) &&
             reference_decode(eq + 1, len - (size_t)(eq - pair) - 1, value,
                              len + 1);
        for (int i = 0; ok && i < 4; i++) {
            if (strcmp(name, param_names[i]) != 0)
                continue;
            ok = (f->present & param_bits[i]) == 0 &&
                 strlen(value) < GW_TOKEN_FIELD_MAX;
            f->present |= param_bits[i];
            if (ok)
                strcpy(form_field(f, i), value);
        }
        free(name);
        free(value);
        if (!ok)
            return false;
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
    FUZZ_CHECK(ok || got->error != NULL);
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
 * picks, with an unknown parameter (name "x_" + extra, value extra) and
 * an empty pair among them. */
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
            o += (size_t)sprintf(out + o, "x_");
            o += encode(extra, style, out + o);
            out[o++] = '=';
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
    /* The unknown parameter may be of any length. */
    extra = fuzz_strndup(data, size);
    cap = 4 * (3 * GW_TOKEN_FIELD_MAX + 32) + 6 * strlen(extra) + 32;
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

/* The input as the rest of a Basic header: rejected with the credentials
 * cleared, or accepted with both credentials bounded and marked. */
static void check_raw_basic(const uint8_t *data, size_t size)
{
    char *header = malloc(size + 7);
    gw_token_form f;

    FUZZ_CHECK(header != NULL);
    memcpy(header, "Basic ", 6);
    if (size > 0)
        memcpy(header + 6, data, size);
    header[size + 6] = '\0';
    memset(&f, 0, sizeof(f));
    if (gw_token_basic_parse(header, &f)) {
        FUZZ_CHECK(f.present == (GW_TOKEN_CLIENT_ID | GW_TOKEN_CLIENT_SECRET));
        FUZZ_CHECK(memchr(f.client_id, '\0', GW_TOKEN_FIELD_MAX) != NULL);
        FUZZ_CHECK(memchr(f.client_secret, '\0', GW_TOKEN_FIELD_MAX) != NULL);
    } else {
        FUZZ_CHECK(f.present == 0 && f.client_id[0] == '\0' &&
                   f.client_secret[0] == '\0');
    }
    free(header);
}

/* Takes the first two lines as client id and secret (the input's bytes,
 * NUL included, up to each newline), form-encoded and in base64. They
 * come back from the Basic parser when both fit and contain no NUL byte.
 * Otherwise the header is rejected. */
static void check_basic_round_trip(const uint8_t *data, size_t size)
{
    unsigned style = size > 0 ? data[0] : 0;
    const uint8_t *nl1 = size > 0 ? memchr(data, '\n', size) : NULL;
    size_t id_len = nl1 != NULL ? (size_t)(nl1 - data) : size;
    const uint8_t *rest = nl1 != NULL ? nl1 + 1 : data + size;
    size_t rest_len = size - (size_t)(rest - data);
    const uint8_t *nl2 = rest_len > 0 ? memchr(rest, '\n', rest_len) : NULL;
    size_t secret_len = nl2 != NULL ? (size_t)(nl2 - rest) : rest_len;
    char *id = fuzz_strndup(data, id_len);
    char *secret = fuzz_strndup(rest, secret_len);
    bool has_nul = memchr(data, '\0', id_len) != NULL ||
                   memchr(rest, '\0', secret_len) != NULL;
    bool fits = id_len < GW_TOKEN_FIELD_MAX &&
                secret_len < GW_TOKEN_FIELD_MAX;
    char *pair = malloc(3 * (id_len + secret_len) + 2);
    size_t pair_len, header_cap = 4 * (3 * (id_len + secret_len) + 2) + 16;
    char *header = malloc(header_cap);
    gw_token_form f;
    bool ok;

    FUZZ_CHECK(pair != NULL && header != NULL);
    /* encode() stops at a NUL, so a NUL byte is written as %00, which the
     * parser must reject like a decoded NUL. */
    pair_len = 0;
    for (size_t i = 0; i <= id_len + secret_len; i++) {
        unsigned char c = i < id_len ? data[i]
                        : i == id_len ? 0
                                      : rest[i - id_len - 1];
        char one[2] = {(char)c, 0};

        if (i == id_len) {
            pair[pair_len++] = ':';
            continue;
        }
        if (c == 0)
            pair_len += (size_t)sprintf(pair + pair_len, "%%00");
        else
            pair_len += encode(one, style, pair + pair_len);
    }
    pair[pair_len] = '\0';
    /* Half the styles send the NUL as a raw byte instead, in base64. */
    if ((style & 4) != 0 && has_nul) {
        pair_len = 0;
        memcpy(pair, data, id_len);
        pair_len = id_len;
        pair[pair_len++] = ':';
        memcpy(pair + pair_len, rest, secret_len);
        pair_len += secret_len;
        /* Raw bytes other than NUL must be escaped for the round trip to
         * hold, so only the verdict is checked for this form. */
        fits = false;
    }
    memcpy(header, "Basic ", 6);
    FUZZ_CHECK(hg_base64_encode((const uint8_t *)pair, pair_len, header + 6,
                                header_cap - 6) >= 0);
    memset(&f, 0, sizeof(f));
    ok = gw_token_basic_parse(header, &f);
    if (has_nul)
        FUZZ_CHECK(!ok);
    else if (fits && pair_len < 2 * GW_TOKEN_FIELD_MAX - 1) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(strcmp(f.client_id, id) == 0);
        FUZZ_CHECK(strcmp(f.client_secret, secret) == 0);
    }
    free(id);
    free(secret);
    free(pair);
    free(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_raw_body(data, size);
    check_round_trip(data, size);
    check_raw_basic(data, size);
    check_basic_round_trip(data, size);
    return 0;
}
