/* SPDX-License-Identifier: MIT
 *
 * A single-pass scanner with a state loop instead of recursion, so a hostile
 * body cannot exhaust the stack, and with no allocation, because it runs on
 * every publish.
 */
#include "common/json_intake.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/text.h"

/* Hard cap on nesting, regardless of max_depth. One bit per level records
 * whether the level is an object or an array, so the bit stack takes 8 KiB of
 * stack. */
#define DEPTH_CAP 65536

static const char MSG_EMPTY[] = "the body is empty or contains only whitespace";
static const char MSG_BOM[] =
    "the body starts with a byte order mark, which JSON text must not contain";
static const char MSG_END[] = "the JSON text ends before the value is complete";
static const char MSG_VALUE[] =
    "unexpected character where a JSON value was expected";
static const char MSG_TRAILING[] = "unexpected character after the JSON value";
static const char MSG_NAME[] =
    "expected a member name in double quotes in an object";
static const char MSG_COLON[] = "expected ':' after a member name";
static const char MSG_OBJECT_NEXT[] = "expected ',' or '}' after an object member";
static const char MSG_ARRAY_NEXT[] = "expected ',' or ']' after an array element";
static const char MSG_LITERAL[] = "invalid literal, expected true, false or null";
static const char MSG_MINUS[] = "invalid number, a digit must follow '-'";
static const char MSG_LEADING_ZERO[] =
    "invalid number, leading zeros are not allowed";
static const char MSG_FRACTION[] =
    "invalid number, a digit must follow the decimal point";
static const char MSG_EXPONENT[] =
    "invalid number, a digit must follow the exponent marker";
static const char MSG_UNTERMINATED[] = "unterminated string";
static const char MSG_CONTROL[] =
    "unescaped control character in a string, use an escape such as \\n or \\u001f";
static const char MSG_ESCAPE[] = "invalid escape sequence in a string";
static const char MSG_UTF8[] = "invalid UTF-8 in a string";
static const char MSG_TOO_DEEP[] = "nesting is deeper than the maximum depth";
static const char MSG_NOT_OBJECT[] = "the top-level value must be a JSON object";
static const char MSG_TYPE_NOT_STRING[] = "the \"type\" member must be a string";
static const char MSG_TYPE_DUPLICATE[] =
    "the top-level object has more than one \"type\" member";
static const char MSG_TYPE_INVALID[] =
    "the \"type\" member must be 1 to 128 characters of A-Z a-z 0-9 . _ -";

enum state {
    ST_VALUE,
    ST_FIRST_ELEMENT, /* after '[': a value or ']' */
    ST_FIRST_MEMBER,  /* after '{': a member name or '}' */
    ST_MEMBER,        /* after ',' in an object: a member name */
    ST_AFTER_VALUE,
    ST_DONE,
    ST_ERROR
};

/* Decoded text of a top-level member name or of the "type" value. Only ASCII
 * is kept, because neither "type" nor a valid type value contains anything
 * else. */
struct text_sink {
    char buf[HG_EVENT_TYPE_MAX + 1];
    size_t len; /* decoded code points, counted past the end of buf too */
    bool non_ascii;
};

struct scan {
    const unsigned char *p;
    size_t len;
    size_t pos;
    int depth;
    int limit;
    /* Bit n-1 is set while level n is an object, clear while an array. */
    unsigned char *kinds;

    hg_json_intake_result result; /* HG_JSON_MALFORMED or HG_JSON_TOO_DEEP */
    size_t error_offset;
    const char *error;

    bool top_object;
    size_t top_offset;

    bool type_seen;
    bool type_pending; /* the next value is the top-level "type" member */
    hg_json_intake_result type_result;
    size_t type_offset;
    const char *type_error;
    char *type_out;
};

static bool fail(struct scan *s, size_t offset, const char *msg)
{
    s->result = HG_JSON_MALFORMED;
    s->error_offset = offset;
    s->error = msg;
    return false;
}

static enum state fail_state(struct scan *s, size_t offset, const char *msg)
{
    fail(s, offset, msg);
    return ST_ERROR;
}

/* Records a type error unless an earlier one is recorded, because the first
 * type error in the body is the one reported. */
static void note_type_error(struct scan *s, hg_json_intake_result r,
                            size_t offset, const char *msg)
{
    if (s->type_result != HG_JSON_OK)
        return;
    s->type_result = r;
    s->type_offset = offset;
    s->type_error = msg;
}

static void sink_put(struct text_sink *sink, uint32_t code_point)
{
    if (code_point >= 0x80)
        sink->non_ascii = true;
    else if (sink->len < sizeof(sink->buf))
        sink->buf[sink->len] = (char)code_point;
    sink->len++;
}

static void skip_whitespace(struct scan *s)
{
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        s->pos++;
    }
}

static bool at_char(const struct scan *s, unsigned char c)
{
    return s->pos < s->len && s->p[s->pos] == c;
}

static bool at_digit(const struct scan *s)
{
    return s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9';
}

/* Checks one multi-byte UTF-8 sequence at s->pos. The narrowed second-byte
 * ranges after E0, ED, F0 and F4 reject overlong forms, UTF-16 surrogates and
 * code points past U+10FFFF, and C0, C1 and F5 to FF never lead a sequence. */
static bool scan_utf8(struct scan *s)
{
    const unsigned char *p = s->p + s->pos;
    size_t avail = s->len - s->pos;
    unsigned char lead = p[0], low = 0x80, high = 0xBF;
    size_t tail;

    if (lead >= 0xC2 && lead <= 0xDF) {
        tail = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        tail = 2;
        if (lead == 0xE0)
            low = 0xA0;
        else if (lead == 0xED)
            high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        tail = 3;
        if (lead == 0xF0)
            low = 0x90;
        else if (lead == 0xF4)
            high = 0x8F;
    } else {
        return fail(s, s->pos, MSG_UTF8);
    }

    if (avail <= tail || p[1] < low || p[1] > high)
        return fail(s, s->pos, MSG_UTF8);
    for (size_t i = 2; i <= tail; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return fail(s, s->pos, MSG_UTF8);
    }
    s->pos += tail + 1;
    return true;
}

/* Scans the escape at s->pos (a backslash). A "\u" escape reaches the sink
 * as one UTF-16 code unit. Surrogate pairs are not combined because any
 * non-ASCII code point disqualifies the text anyway. */
static bool scan_escape(struct scan *s, struct text_sink *sink)
{
    static const char simple_from[] = "\"\\/bfnrt";
    static const char simple_to[] = "\"\\/\b\f\n\r\t";
    size_t at = s->pos;
    const char *simple;
    uint32_t unit = 0;

    if (s->len - at < 2)
        return fail(s, at, MSG_ESCAPE);
    simple = s->p[at + 1] ? strchr(simple_from, s->p[at + 1]) : NULL;
    if (simple) {
        if (sink)
            sink_put(sink, (unsigned char)simple_to[simple - simple_from]);
        s->pos += 2;
        return true;
    }

    if (s->p[at + 1] != 'u' || s->len - at < 6)
        return fail(s, at, MSG_ESCAPE);
    for (size_t i = 2; i < 6; i++) {
        int digit = hg_hex_value((unsigned char)s->p[at + i]);

        if (digit < 0)
            return fail(s, at, MSG_ESCAPE);
        unit = unit << 4 | (uint32_t)digit;
    }
    if (sink)
        sink_put(sink, unit);
    s->pos += 6;
    return true;
}

/* Returns the position of the first byte at or after pos that is not
 * printable ASCII or is '"' or '\\', or len when there is none. */
static size_t skip_plain(const unsigned char *p, size_t pos, size_t len)
{
    while (pos < len && p[pos] >= 0x20 && p[pos] < 0x80 && p[pos] != '"' &&
           p[pos] != '\\')
        pos++;
    return pos;
}

/* Scans the string whose opening quote is at s->pos. The sink, when given,
 * receives the decoded text. */
static bool scan_string(struct scan *s, struct text_sink *sink)
{
    size_t start = s->pos;

    s->pos++;
    while (s->pos < s->len) {
        unsigned char c;

        if (!sink) {
            s->pos = skip_plain(s->p, s->pos, s->len);
            if (s->pos == s->len)
                break;
        }
        c = s->p[s->pos];
        if (c == '"') {
            s->pos++;
            return true;
        }
        if (c == '\\') {
            if (!scan_escape(s, sink))
                return false;
        } else if (c < 0x20) {
            return fail(s, s->pos, MSG_CONTROL);
        } else if (c < 0x80) {
            if (sink)
                sink_put(sink, c);
            s->pos++;
        } else {
            if (!scan_utf8(s))
                return false;
            if (sink)
                sink_put(sink, 0x80);
        }
    }
    return fail(s, start, MSG_UNTERMINATED);
}

static void skip_digits(struct scan *s)
{
    while (at_digit(s))
        s->pos++;
}

/* Checks the RFC 8259 number grammar only. Nothing is converted, so any
 * number of digits and any exponent is accepted. */
static bool scan_number(struct scan *s)
{
    if (at_char(s, '-'))
        s->pos++;
    if (!at_digit(s))
        return fail(s, s->pos, MSG_MINUS);
    if (at_char(s, '0')) {
        s->pos++;
        if (at_digit(s))
            return fail(s, s->pos, MSG_LEADING_ZERO);
    } else {
        skip_digits(s);
    }

    if (at_char(s, '.')) {
        s->pos++;
        if (!at_digit(s))
            return fail(s, s->pos, MSG_FRACTION);
        skip_digits(s);
    }

    if (at_char(s, 'e') || at_char(s, 'E')) {
        s->pos++;
        if (at_char(s, '+') || at_char(s, '-'))
            s->pos++;
        if (!at_digit(s))
            return fail(s, s->pos, MSG_EXPONENT);
        skip_digits(s);
    }
    return true;
}

static bool scan_literal(struct scan *s, const char *word, size_t word_len)
{
    if (s->len - s->pos < word_len ||
        memcmp(s->p + s->pos, word, word_len) != 0)
        return fail(s, s->pos, MSG_LITERAL);
    s->pos += word_len;
    return true;
}

/* Scans the value of the first top-level "type" member, which is a string,
 * and stores it decoded when it is a valid event type. */
static bool scan_type_value(struct scan *s)
{
    struct text_sink sink;
    size_t start = s->pos;

    sink.len = 0;
    sink.non_ascii = false;
    if (!scan_string(s, &sink))
        return false;

    if (sink.non_ascii || !hg_event_type_valid(sink.buf, sink.len)) {
        note_type_error(s, HG_JSON_TYPE_INVALID, start, MSG_TYPE_INVALID);
        return true;
    }
    memcpy(s->type_out, sink.buf, sink.len);
    s->type_out[sink.len] = '\0';
    return true;
}

static bool open_container(struct scan *s, bool object)
{
    unsigned level = (unsigned)s->depth;
    unsigned char bit = (unsigned char)(1u << (level % CHAR_BIT));

    if (s->depth >= s->limit) {
        s->result = HG_JSON_TOO_DEEP;
        s->error_offset = s->pos;
        s->error = MSG_TOO_DEEP;
        return false;
    }

    if (object)
        s->kinds[level / CHAR_BIT] |= bit;
    else
        s->kinds[level / CHAR_BIT] &= (unsigned char)~bit;
    s->depth++;
    s->pos++;
    return true;
}

static bool in_object(const struct scan *s)
{
    unsigned level = (unsigned)s->depth - 1;

    return (s->kinds[level / CHAR_BIT] >> (level % CHAR_BIT)) & 1;
}

static enum state close_container(struct scan *s)
{
    s->depth--;
    s->pos++;
    return ST_AFTER_VALUE;
}

static enum state scan_value(struct scan *s)
{
    bool type_value = s->type_pending;
    unsigned char c;
    bool ok;

    s->type_pending = false;
    if (s->pos == s->len)
        return fail_state(s, s->pos, MSG_END);
    c = s->p[s->pos];
    if (s->depth == 0) {
        s->top_object = c == '{';
        s->top_offset = s->pos;
    }
    if (type_value && c != '"')
        note_type_error(s, HG_JSON_TYPE_NOT_STRING, s->pos, MSG_TYPE_NOT_STRING);

    if (c == '{')
        return open_container(s, true) ? ST_FIRST_MEMBER : ST_ERROR;
    if (c == '[')
        return open_container(s, false) ? ST_FIRST_ELEMENT : ST_ERROR;
    if (c == '"')
        ok = type_value ? scan_type_value(s) : scan_string(s, NULL);
    else if (c == '-' || (c >= '0' && c <= '9'))
        ok = scan_number(s);
    else if (c == 't')
        ok = scan_literal(s, "true", 4);
    else if (c == 'f')
        ok = scan_literal(s, "false", 5);
    else if (c == 'n')
        ok = scan_literal(s, "null", 4);
    else
        return fail_state(s, s->pos, MSG_VALUE);
    return ok ? ST_AFTER_VALUE : ST_ERROR;
}

/* Scans a member name and its ':'. Names in the top-level object are decoded
 * so that an escaped spelling such as "\u0074ype" is still "type". */
static enum state scan_member(struct scan *s)
{
    struct text_sink sink;
    bool top = s->depth == 1;
    size_t start = s->pos;

    /* buf is left uninitialized because only the bytes below sink.len are
     * read. */
    sink.len = 0;
    sink.non_ascii = false;

    if (s->pos == s->len)
        return fail_state(s, s->pos, MSG_END);
    if (s->p[s->pos] != '"')
        return fail_state(s, s->pos, MSG_NAME);
    if (!scan_string(s, top ? &sink : NULL))
        return ST_ERROR;

    if (top && !sink.non_ascii && sink.len == 4 &&
        memcmp(sink.buf, "type", 4) == 0) {
        if (s->type_seen)
            note_type_error(s, HG_JSON_TYPE_DUPLICATE, start, MSG_TYPE_DUPLICATE);
        else
            s->type_pending = true;
        s->type_seen = true;
    }

    skip_whitespace(s);
    if (s->pos == s->len)
        return fail_state(s, s->pos, MSG_END);
    if (s->p[s->pos] != ':')
        return fail_state(s, s->pos, MSG_COLON);
    s->pos++;
    return ST_VALUE;
}

static enum state after_value(struct scan *s)
{
    bool object;

    if (s->depth == 0) {
        if (s->pos == s->len)
            return ST_DONE;
        return fail_state(s, s->pos, MSG_TRAILING);
    }
    if (s->pos == s->len)
        return fail_state(s, s->pos, MSG_END);

    object = in_object(s);
    if (s->p[s->pos] == ',') {
        s->pos++;
        return object ? ST_MEMBER : ST_VALUE;
    }
    if (s->p[s->pos] == (object ? '}' : ']'))
        return close_container(s);
    return fail_state(s, s->pos, object ? MSG_OBJECT_NEXT : MSG_ARRAY_NEXT);
}

/* Runs the grammar over the whole body. Returns false on a grammar or depth
 * error, which s->result then holds. */
static bool scan_text(struct scan *s)
{
    enum state state = ST_VALUE;

    if (s->len >= 3 && s->p[0] == 0xEF && s->p[1] == 0xBB && s->p[2] == 0xBF)
        return fail(s, 0, MSG_BOM);
    skip_whitespace(s);
    if (s->pos == s->len)
        return fail(s, s->pos, MSG_EMPTY);

    while (state != ST_DONE && state != ST_ERROR) {
        skip_whitespace(s);
        if (state == ST_VALUE)
            state = scan_value(s);
        else if (state == ST_FIRST_ELEMENT)
            state = at_char(s, ']') ? close_container(s) : scan_value(s);
        else if (state == ST_FIRST_MEMBER)
            state = at_char(s, '}') ? close_container(s) : scan_member(s);
        else if (state == ST_MEMBER)
            state = scan_member(s);
        else
            state = after_value(s);
    }
    return state == ST_DONE;
}

static hg_json_intake_result report(hg_json_intake_info *info,
                                    hg_json_intake_result result,
                                    size_t offset, const char *error)
{
    info->type[0] = '\0';
    info->error_offset = offset;
    info->error = error;
    return result;
}

hg_json_intake_result hg_json_intake(const char *body, size_t len,
                                     int max_depth, hg_json_intake_info *info)
{
    /* Left uninitialized so that a call does not clear 8 KiB. A level's bit
     * is written when the level opens, before anything reads it. */
    unsigned char kinds[DEPTH_CAP / CHAR_BIT];
    struct scan s = {
        .p = (const unsigned char *)body,
        .len = len,
        .limit = max_depth < 1 ? HG_JSON_DEFAULT_MAX_DEPTH : max_depth,
        .kinds = kinds,
        .type_out = info->type,
    };

    /* A max_depth below 1 selects the default. NOTE: a max_depth above
     * DEPTH_CAP is silently lowered to it, so such bodies get
     * HG_JSON_TOO_DEEP at 65537 levels. */
    if (s.limit > DEPTH_CAP)
        s.limit = DEPTH_CAP;
    info->type[0] = '\0';

    if (!scan_text(&s))
        return report(info, s.result, s.error_offset, s.error);
    if (!s.top_object)
        return report(info, HG_JSON_NOT_OBJECT, s.top_offset, MSG_NOT_OBJECT);
    if (s.type_result != HG_JSON_OK)
        return report(info, s.type_result, s.type_offset, s.type_error);

    info->error_offset = 0;
    info->error = NULL;
    return HG_JSON_OK;
}
