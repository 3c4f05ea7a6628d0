/* SPDX-License-Identifier: MIT
 *
 * Compiles a JSON Schema into a tree of nodes, one per subschema, and walks
 * that tree against an instance. The nodes borrow keyword values from a deep
 * copy of the schema document that the compiled schema owns. Validation
 * allocates memory only for uniqueItems on arrays of more than
 * UNIQUE_PAIRWISE_MAX items.
 */
#include "common/jsonschema.h"

#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define REF_PREFIX "#/$defs/"

/* Arrays up to this size are checked for uniqueItems by comparing every pair,
 * longer ones by sorting hashes first, so a large array costs O(n log n)
 * unless distinct items share a 64-bit hash. */
#define UNIQUE_PAIRWISE_MAX 16

/* Strings quoted in error messages are cut after this many bytes. */
#define QUOTE_MAX 64
/* Values quoted in error messages are cut after this many bytes, and their
 * arrays and objects after this many levels. */
#define VALUE_TEXT_MAX 120
#define VALUE_DEPTH_MAX 4

/* Path segments: each schema level adds a keyword and a member or index. */
#define SCHEMA_PATH_MAX (2 * HG_SCHEMA_MAX_SCHEMA_DEPTH + 4)

enum type_bit {
    T_NULL = 1,
    T_BOOLEAN = 2,
    T_OBJECT = 4,
    T_ARRAY = 8,
    T_NUMBER = 16,
    T_INTEGER = 32,
    T_STRING = 64
};

/* In the order that "expected ..." messages list them. */
static const struct {
    const char *name;
    unsigned bit;
    const char *noun;
} type_names[] = {
    {"object", T_OBJECT, "an object"},   {"array", T_ARRAY, "an array"},
    {"string", T_STRING, "a string"},    {"integer", T_INTEGER, "an integer"},
    {"number", T_NUMBER, "a number"},    {"boolean", T_BOOLEAN, "a boolean"},
    {"null", T_NULL, "null"},
};

enum format { F_NONE, F_DATE_TIME, F_DATE, F_EMAIL, F_URI, F_UUID };

static const struct {
    const char *name;
    enum format format;
    const char *noun;
} format_names[] = {
    {"date-time", F_DATE_TIME, "a date-time (RFC 3339)"},
    {"date", F_DATE, "a date (RFC 3339 full-date)"},
    {"email", F_EMAIL, "an email address"},
    {"uri", F_URI, "an absolute URI"},
    {"uuid", F_UUID, "a UUID"},
};

struct regex {
    const char *source;
    regex_t compiled;
    bool ready; /* true once compiled needs regfree() */
    /* LC_CTYPE locale for regcomp() and regexec(), or 0 for the thread's
     * current one. */
    locale_t ctype;
};

struct property {
    const char *name;
    struct node *schema;
};

struct pattern_property {
    struct regex regex;
    struct node *schema;
};

struct node_list {
    struct node **items;
    size_t count;
};

/* One compiled subschema. Absent keywords keep the values that node_new()
 * sets, which accept everything. */
struct node {
    int boolean; /* 1 for the schema true, 0 for false, -1 for an object */
    unsigned types; /* enum type_bit mask, 0 when "type" is absent */
    const json_t *enum_values;
    const json_t *const_value;
    const json_t *minimum;
    const json_t *maximum;
    const json_t *exclusive_minimum;
    const json_t *exclusive_maximum;
    const json_t *multiple_of;
    size_t min_length;
    size_t max_length;
    struct regex pattern;
    enum format format;
    size_t min_items;
    size_t max_items;
    bool unique_items;
    struct node_list prefix_items;
    struct node *items;
    size_t min_properties;
    size_t max_properties;
    const json_t *required;
    const json_t *properties_object; /* for the additionalProperties lookup */
    struct property *properties;
    size_t property_count;
    struct pattern_property *pattern_properties;
    size_t pattern_property_count;
    struct node *additional_properties;
    struct node_list all_of;
    struct node_list any_of;
    struct node_list one_of;
    struct node *not_schema;
    struct node *ref;
};

struct definition {
    const char *name;
    struct node *schema;
};

struct hg_schema {
    json_t *document; /* deep copy that the nodes borrow values from */
    struct node *root;
    struct node **nodes;
    size_t node_count;
    size_t node_capacity;
    struct definition *definitions;
    size_t definition_count;
};

/* ------------------------------------------------------------------------
 * Messages and JSON Pointers
 */

/* A step of a JSON Pointer: a member name, or an array index when key is
 * NULL. */
struct segment {
    const char *key;
    size_t index;
};

struct path {
    struct segment *segments;
    size_t length;
    size_t capacity;
};

/* A bounded output buffer that stays NUL-terminated and valid UTF-8 when
 * text is cut off. */
struct text {
    char *buf;
    size_t size;
    size_t len;
    bool cut; /* true once text was dropped for lack of room */
};

static void text_init(struct text *t, char *buf, size_t size)
{
    t->buf = buf;
    t->size = size;
    t->len = 0;
    t->cut = false;
    if (size > 0)
        buf[0] = '\0';
}

/* Drops a UTF-8 sequence that truncation cut in half at the end of t. */
static void text_trim_partial(struct text *t)
{
    size_t start = t->len;
    size_t need;
    unsigned char lead;

    while (start > 0 && ((unsigned char)t->buf[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return;
    lead = (unsigned char)t->buf[start - 1];
    if (lead < 0xC0)
        return;
    if (lead >= 0xF0)
        need = 4;
    else if (lead >= 0xE0)
        need = 3;
    else
        need = 2;
    if (t->len - (start - 1) < need) {
        t->len = start - 1;
        t->buf[t->len] = '\0';
    }
}

static void text_append(struct text *t, const char *s, size_t n)
{
    size_t room;

    if (t->size == 0) {
        t->cut = t->cut || n > 0;
        return;
    }
    room = t->size - 1 - t->len;
    if (n > room) {
        t->cut = true;
        memcpy(t->buf + t->len, s, room);
        t->len += room;
        t->buf[t->len] = '\0';
        text_trim_partial(t);
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void text_vprintf(struct text *t, const char *fmt, va_list ap)
{
    char local[HG_SCHEMA_ERR_MAX];
    int n = vsnprintf(local, sizeof(local), fmt, ap);

    if (n < 0)
        return;
    if ((size_t)n < sizeof(local)) {
        text_append(t, local, (size_t)n);
        return;
    }

    /* vsnprintf() cut the text, perhaps inside a UTF-8 sequence. */
    text_append(t, local, sizeof(local) - 1);
    text_trim_partial(t);
    t->cut = true;
}

__attribute__((format(printf, 2, 3))) static void
text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    text_vprintf(t, fmt, ap);
    va_end(ap);
}

/* Appends s as a JSON string literal, cut after QUOTE_MAX bytes. */
static void text_quote(struct text *t, const char *s, size_t len)
{
    size_t n = len, i;

    if (n > QUOTE_MAX) {
        n = QUOTE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    text_append(t, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            text_printf(t, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            text_printf(t, "\\u%04x", c);
        else
            text_append(t, (const char *)&s[i], 1);
    }
    text_append(t, n < len ? "\"..." : "\"", n < len ? 4 : 1);
}

/* Writes to digits the shortest decimal digits of |d| that read back as d,
 * and returns the exponent n for which |d| = 0.digits * 10^n. */
static int shortest_digits(double d, char digits[24])
{
    char buf[40];
    int precision, exp10 = 0;
    size_t k = 0;

    /* 17 significant digits (precision 16) always read back exactly. */
    for (precision = 0;; precision++) {
        snprintf(buf, sizeof(buf), "%.*e", precision, d);
        if (precision == 16 || strtod(buf, NULL) == d)
            break;
    }

    /* buf is "[-]d.ddde[+-]XX" or, for a precision of 0, "[-]de[+-]XX". */
    for (const char *p = buf; *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    }
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    sscanf(strchr(buf, 'e') + 1, "%d", &exp10);
    return exp10 + 1;
}

static void text_zeros(struct text *t, int count)
{
    for (int i = 0; i < count; i++)
        text_append(t, "0", 1);
}

/* Appends a number in its shortest form that reads back as the same value,
 * laid out as ECMAScript's Number.prototype.toString() does: plain digits
 * for decimal exponents from -6 to 21, exponent notation beyond. */
static void text_number(struct text *t, const json_t *number)
{
    char digits[24];
    double d;
    int n, k;

    if (json_is_integer(number)) {
        text_printf(t, "%" JSON_INTEGER_FORMAT, json_integer_value(number));
        return;
    }
    d = json_real_value(number);
    n = shortest_digits(d, digits);
    k = (int)strlen(digits);
    if (d < 0)
        text_append(t, "-", 1);

    if (k <= n && n <= 21) {
        text_printf(t, "%s", digits);
        text_zeros(t, n - k);
    } else if (0 < n && n <= 21) {
        text_printf(t, "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        text_printf(t, "0.");
        text_zeros(t, -n);
        text_printf(t, "%s", digits);
    } else {
        text_printf(t, "%c%s%se%+d", digits[0], k > 1 ? "." : "", digits + 1,
                    n - 1);
    }
}

static void text_json(struct text *t, const json_t *value, int depth);

static void text_json_object(struct text *t, const json_t *object, int depth)
{
    const char *key;
    const json_t *member;
    bool first = true;

    text_printf(t, "{");
    json_object_foreach ((json_t *)object, key, member) {
        if (t->cut)
            return;
        if (!first)
            text_append(t, ",", 1);
        first = false;
        text_quote(t, key, strlen(key));
        text_printf(t, ":");
        text_json(t, member, depth + 1);
    }
    text_printf(t, "}");
}

static void text_json_array(struct text *t, const json_t *array, int depth)
{
    text_printf(t, "[");
    for (size_t i = 0; i < json_array_size(array) && !t->cut; i++) {
        if (i > 0)
            text_append(t, ",", 1);
        text_json(t, json_array_get(array, i), depth + 1);
    }
    text_printf(t, "]");
}

/* Appends value as compact JSON, with strings cut by text_quote() and arrays
 * and objects below VALUE_DEPTH_MAX levels written as "...". Stops early
 * once t is full. */
static void text_json(struct text *t, const json_t *value, int depth)
{
    bool container = json_is_array(value) || json_is_object(value);

    if (container && depth >= VALUE_DEPTH_MAX) {
        text_printf(t, "...");
        return;
    }
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        text_json_object(t, value, depth);
        break;
    case JSON_ARRAY:
        text_json_array(t, value, depth);
        break;
    case JSON_STRING:
        text_quote(t, json_string_value(value), json_string_length(value));
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        text_number(t, value);
        break;
    case JSON_TRUE:
        text_printf(t, "true");
        break;
    case JSON_FALSE:
        text_printf(t, "false");
        break;
    case JSON_NULL:
        text_printf(t, "null");
        break;
    }
}

/* Appends a value for a message: its compact JSON, cut to VALUE_TEXT_MAX
 * bytes with "..." appended. */
static void text_value(struct text *t, const json_t *value)
{
    char buf[VALUE_TEXT_MAX + 1];
    struct text part;

    text_init(&part, buf, sizeof(buf));
    text_json(&part, value, 0);
    text_append(t, buf, part.len);
    if (part.cut)
        text_printf(t, "...");
}

/* Appends the JSON Pointer of path (RFC 6901), or "(root)" when empty. */
static void text_pointer(struct text *t, const struct path *path)
{
    if (path->length == 0) {
        text_printf(t, "(root)");
        return;
    }
    for (size_t i = 0; i < path->length && i < path->capacity; i++) {
        const struct segment *seg = &path->segments[i];

        if (seg->key == NULL) {
            text_printf(t, "/%zu", seg->index);
            continue;
        }
        text_append(t, "/", 1);
        for (const char *p = seg->key; *p; p++) {
            if (*p == '~')
                text_append(t, "~0", 2);
            else if (*p == '/')
                text_append(t, "~1", 2);
            else
                text_append(t, p, 1);
        }
    }
}

/* Writes "<pointer>: <message>" to err. */
static void write_error(char *err, size_t errsz, const struct path *path,
                        const char *fmt, va_list ap)
{
    struct text t;

    text_init(&t, err, errsz);
    text_pointer(&t, path);
    text_printf(&t, ": ");
    text_vprintf(&t, fmt, ap);
}

static void path_push_key(struct path *path, const char *key)
{
    if (path->length < path->capacity)
        path->segments[path->length] = (struct segment){.key = key};
    path->length++;
}

static void path_push_index(struct path *path, size_t index)
{
    if (path->length < path->capacity)
        path->segments[path->length] = (struct segment){.index = index};
    path->length++;
}

static void path_pop(struct path *path)
{
    path->length--;
}

/* ------------------------------------------------------------------------
 * Formats
 */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char *s, size_t n, int *out)
{
    int value = 0;

    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        value = value * 10 + (s[i] - '0');
    }
    *out = value;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to the given proleptic Gregorian date, after Howard
 * Hinnant's days_from_civil algorithm. */
static int64_t days_from_civil(int year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

/* Parses an RFC 3339 full-date, "YYYY-MM-DD", from the first 10 bytes. */
static bool parse_full_date(const char *s, int *year, int *month, int *day)
{
    if (s[4] != '-' || s[7] != '-')
        return false;
    if (!read_digits(s, 4, year) || !read_digits(s + 5, 2, month) ||
        !read_digits(s + 8, 2, day))
        return false;
    if (*month < 1 || *month > 12)
        return false;
    return *day >= 1 && *day <= days_in_month(*year, *month);
}

/* Parses "Z", "z" or "+HH:MM"/"-HH:MM" filling all of len, into minutes east
 * of UTC. */
static bool parse_offset(const char *s, size_t len, int *minutes)
{
    int hours, mins;

    if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *minutes = 0;
        return true;
    }
    if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return false;
    if (!read_digits(s + 1, 2, &hours) || !read_digits(s + 4, 2, &mins))
        return false;
    if (hours > 23 || mins > 59)
        return false;
    *minutes = (s[0] == '-' ? -1 : 1) * (hours * 60 + mins);
    return true;
}

bool hg_schema_parse_date_time(const char *s, size_t len,
                               int64_t *unix_seconds)
{
    int year, month, day, hour, minute, second, offset;
    size_t pos = 19;

    if (len < 20 || !parse_full_date(s, &year, &month, &day))
        return false;
    if ((s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return false;
    if (!read_digits(s + 11, 2, &hour) || !read_digits(s + 14, 2, &minute) ||
        !read_digits(s + 17, 2, &second))
        return false;
    if (hour > 23 || minute > 59 || second > 60)
        return false;

    if (s[pos] == '.') {
        size_t start = ++pos;

        while (pos < len && is_digit(s[pos]))
            pos++;
        if (pos == start)
            return false;
    }
    if (!parse_offset(s + pos, len - pos, &offset))
        return false;

    /* A leap second is only ever inserted at 23:59:60 UTC. */
    if (second == 60 && ((hour * 60 + minute - offset) % 1440 + 1440) % 1440 !=
                            23 * 60 + 59)
        return false;

    if (unix_seconds != NULL)
        *unix_seconds = days_from_civil(year, month, day) * 86400 +
                        hour * 3600 + minute * 60 + (second == 60 ? 59 : second) -
                        (int64_t)offset * 60;
    return true;
}

static bool date_valid(const char *s, size_t len)
{
    int year, month, day;

    return len == 10 && parse_full_date(s, &year, &month, &day);
}

static bool atext_char(char c)
{
    return is_alpha(c) || is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Checks an RFC 5322 dot-atom: atext runs separated by single dots. */
static bool dot_atom_valid(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !atext_char(s[i]))
            return false;
    }
    return true;
}

/* Checks a host name: dot-separated labels of 1 to 63 letters, digits and
 * hyphens that neither start nor end with a hyphen, 253 bytes at most. */
static bool hostname_valid(const char *s, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
            return false;
        if (label == 0 && s[i] == '-')
            return false;
        label++;
    }
    return true;
}

static bool email_valid(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    size_t local;

    if (at == NULL || len > 254)
        return false;
    local = (size_t)(at - s);
    return local <= 64 && dot_atom_valid(s, local) &&
           hostname_valid(at + 1, len - local - 1);
}

static bool uri_char(char c)
{
    return is_alpha(c) || is_digit(c) ||
           (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL);
}

/* Checks scheme ":" followed by RFC 3986 characters, valid percent escapes
 * and at most one "#". */
static bool uri_valid(const char *s, size_t len)
{
    size_t i = 1;
    int hashes = 0;

    if (len == 0 || !is_alpha(s[0]))
        return false;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' ||
                       s[i] == '-' || s[i] == '.'))
        i++;
    if (i == len || s[i] != ':')
        return false;

    for (i++; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return false;
            i += 2;
        } else if (!uri_char(s[i]) || (s[i] == '#' && ++hashes > 1)) {
            return false;
        }
    }
    return true;
}

static bool uuid_valid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

static bool format_valid(enum format format, const char *s, size_t len)
{
    switch (format) {
    case F_DATE_TIME:
        return hg_schema_parse_date_time(s, len, NULL);
    case F_DATE:
        return date_valid(s, len);
    case F_EMAIL:
        return email_valid(s, len);
    case F_URI:
        return uri_valid(s, len);
    case F_UUID:
        return uuid_valid(s, len);
    case F_NONE:
        break;
    }
    return true;
}

static const char *format_noun(enum format format)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (format_names[i].format == format)
            return format_names[i].noun;
    }
    return "a valid value";
}

/* ------------------------------------------------------------------------
 * Values: numbers, equality, hashing
 */

/* long double represents every int64 and every double exactly on x86-64
 * (80-bit extended) and AArch64 Linux (128-bit), so comparisons between JSON
 * integers and reals are exact there. */
static long double number_value(const json_t *number)
{
    if (json_is_integer(number))
        return (long double)json_integer_value(number);
    return (long double)json_real_value(number);
}

static bool is_integral(const json_t *number)
{
    double d;

    if (json_is_integer(number))
        return true;
    d = json_real_value(number);
    return d == trunc(d);
}

static size_t utf8_length(const char *s, size_t len)
{
    size_t count = 0;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    }
    return count;
}

static bool values_equal(const json_t *a, const json_t *b);

static bool objects_equal(const json_t *a, const json_t *b)
{
    const char *key;
    const json_t *value;

    if (json_object_size(a) != json_object_size(b))
        return false;
    json_object_foreach ((json_t *)a, key, value) {
        const json_t *other = json_object_get(b, key);

        if (other == NULL || !values_equal(value, other))
            return false;
    }
    return true;
}

/* Compares two values by the JSON Schema rules: numbers by value, objects
 * regardless of member order. Recursion is bounded by the shallower of the
 * two values. */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return number_value(a) == number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;

    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b),
                      json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        }
        return true;
    case JSON_OBJECT:
        return objects_equal(a, b);
    default:
        return true; /* true, false and null carry no data */
    }
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 33);
}

static uint64_t rotl(uint64_t x, int bits)
{
    return (x << bits) | (x >> (64 - bits));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13) ^ v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17) ^ v[2];
    v[2] = rotl(v[2], 32);
}

static void sip_block(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of s under key. A keyed hash
 * keeps an instance from being crafted so that many distinct strings share a
 * hash, which would make uniqueItems quadratic. */
static uint64_t siphash(const uint64_t key[2], const char *s, size_t len)
{
    uint64_t v[4] = {
        0x736F6D6570736575ULL ^ key[0], 0x646F72616E646F6DULL ^ key[1],
        0x6C7967656E657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1],
    };
    uint64_t last = (uint64_t)len << 56;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t m = 0;

        for (int k = 7; k >= 0; k--)
            m = (m << 8) | (unsigned char)s[i + (size_t)k];
        sip_block(v, m);
    }
    for (size_t k = 0; i + k < len; k++)
        last |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
    sip_block(v, last);

    v[2] ^= 0xFF;
    for (int r = 0; r < 4; r++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Numbers that values_equal() finds equal hash alike: integral values in the
 * int64 range hash as int64, all others by their double bits. */
static uint64_t hash_number(const json_t *number)
{
    double d;
    uint64_t bits;

    if (json_is_integer(number))
        return mix(4, (uint64_t)json_integer_value(number));
    d = json_real_value(number);
    if (d == trunc(d) && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
        return mix(4, (uint64_t)(int64_t)d);
    memcpy(&bits, &d, sizeof(bits));
    return mix(5, bits);
}

/* A hash consistent with values_equal(). Object members are combined with a
 * sum, so member order does not matter. */
static uint64_t hash_value(const uint64_t key[2], const json_t *value)
{
    uint64_t h;
    const char *name;
    const json_t *member;

    switch (json_typeof(value)) {
    case JSON_STRING:
        return mix(6, siphash(key, json_string_value(value),
                              json_string_length(value)));
    case JSON_INTEGER:
    case JSON_REAL:
        return hash_number(value);
    case JSON_ARRAY:
        h = 7;
        for (size_t i = 0; i < json_array_size(value); i++)
            h = mix(h, hash_value(key, json_array_get(value, i)));
        return h;
    case JSON_OBJECT:
        h = 8;
        json_object_foreach ((json_t *)value, name, member)
            h += mix(siphash(key, name, strlen(name)), hash_value(key, member));
        return mix(h, 8);
    case JSON_TRUE:
        return 1;
    case JSON_FALSE:
        return 2;
    case JSON_NULL:
        break;
    }
    return 3;
}

/* ------------------------------------------------------------------------
 * Compiling
 */

struct compiler {
    hg_schema *schema;
    struct path path;
    struct segment segments[SCHEMA_PATH_MAX];
    int depth; /* nesting of the subschema being compiled, root = 0 */
    char *err;
    size_t errsz;
};

__attribute__((format(printf, 2, 3))) static bool
compile_fail(struct compiler *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    write_error(c->err, c->errsz, &c->path, fmt, ap);
    va_end(ap);
    return false;
}

/* The keyword being compiled, which is the last path segment. */
static const char *keyword(const struct compiler *c)
{
    return c->path.segments[c->path.length - 1].key;
}

static struct node *node_new(struct compiler *c)
{
    hg_schema *s = c->schema;
    struct node *n;

    if (s->node_count == s->node_capacity) {
        size_t capacity = s->node_capacity ? 2 * s->node_capacity : 16;
        struct node **nodes = realloc(s->nodes, capacity * sizeof(*nodes));

        if (nodes == NULL)
            return NULL;
        s->nodes = nodes;
        s->node_capacity = capacity;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->boolean = -1;
    n->max_length = SIZE_MAX;
    n->max_items = SIZE_MAX;
    n->max_properties = SIZE_MAX;
    s->nodes[s->node_count++] = n;
    return n;
}

static bool compile_into(struct compiler *c, struct node *n,
                         const json_t *json);

static bool compile_subschema(struct compiler *c, const json_t *json,
                              struct node **out)
{
    bool ok;

    if (c->depth >= HG_SCHEMA_MAX_SCHEMA_DEPTH)
        return compile_fail(c, "subschemas nest deeper than %d levels",
                            HG_SCHEMA_MAX_SCHEMA_DEPTH);
    *out = node_new(c);
    if (*out == NULL)
        return compile_fail(c, "out of memory");
    c->depth++;
    ok = compile_into(c, *out, json);
    c->depth--;
    return ok;
}

/* Compiles a non-empty array of schemas, such as allOf or prefixItems. */
static bool compile_list(struct compiler *c, const json_t *value,
                         struct node_list *list)
{
    size_t count = json_array_size(value);

    if (!json_is_array(value) || count == 0)
        return compile_fail(c, "%s must be a non-empty array of schemas",
                            keyword(c));
    list->items = calloc(count, sizeof(*list->items));
    if (list->items == NULL)
        return compile_fail(c, "out of memory");
    list->count = count;

    for (size_t i = 0; i < count; i++) {
        bool ok;

        path_push_index(&c->path, i);
        ok = compile_subschema(c, json_array_get(value, i), &list->items[i]);
        path_pop(&c->path);
        if (!ok)
            return false;
    }
    return true;
}

/* Reads a non-negative integer keyword value, given as an integer or as a
 * real with a zero fraction. */
static bool read_count(struct compiler *c, const json_t *value, size_t *out)
{
    long double v;

    if (!json_is_number(value) || !is_integral(value) ||
        (v = number_value(value)) < 0)
        return compile_fail(c, "%s must be a non-negative integer", keyword(c));
    *out = v >= (long double)SIZE_MAX ? SIZE_MAX : (size_t)v;
    return true;
}

static bool read_number(struct compiler *c, const json_t *value,
                        const json_t **out)
{
    if (!json_is_number(value))
        return compile_fail(c, "%s must be a number", keyword(c));
    *out = value;
    return true;
}

/* Rejects the ECMA-262 class escapes, which POSIX regular expressions lack.
 * glibc compiles \d as a literal "d", so such a pattern would silently match
 * the wrong strings. \w and \s work in glibc only as GNU extensions, and are
 * rejected too so that schemas stay portable POSIX. */
static bool check_ecma_escapes(struct compiler *c, const char *source)
{
    static const struct {
        char letter;
        const char *replacement;
    } escapes[] = {
        {'d', "[0-9]"},       {'D', "[^0-9]"},
        {'w', "[[:alnum:]_]"}, {'W', "[^[:alnum:]_]"},
        {'s', "[[:space:]]"}, {'S', "[^[:space:]]"},
    };

    for (const char *p = source; *p; p++) {
        if (*p != '\\' || p[1] == '\0')
            continue;
        p++;
        for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
            if (*p == escapes[i].letter)
                return compile_fail(
                    c,
                    "pattern \"%s\" uses \\%c, an ECMA-262 class that POSIX "
                    "regular expressions do not support; write %s instead",
                    source, *p, escapes[i].replacement);
        }
    }
    return true;
}

/* Returns a C.UTF-8 LC_CTYPE locale, created once per process and never
 * freed, or 0 when the C library has none. */
static locale_t utf8_ctype(void)
{
    static locale_t shared;
    locale_t loc = __atomic_load_n(&shared, __ATOMIC_ACQUIRE);
    locale_t winner = (locale_t)0;

    if (loc != (locale_t)0)
        return loc;
    loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (loc == (locale_t)0)
        return loc;

    /* Another thread may have created one in the meantime. */
    if (!__atomic_compare_exchange_n(&shared, &winner, loc, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        freelocale(loc);
        return winner;
    }
    return loc;
}

/* Switches the calling thread to ctype unless it is 0, and returns what
 * leave_ctype() needs to switch back. */
static locale_t enter_ctype(locale_t ctype)
{
    return ctype != (locale_t)0 ? uselocale(ctype) : (locale_t)0;
}

static void leave_ctype(locale_t previous)
{
    if (previous != (locale_t)0)
        uselocale(previous);
}

static bool compile_regex(struct compiler *c, const char *source, size_t len,
                          struct regex *out)
{
    char message[256];
    locale_t previous;
    int rc;

    if (strlen(source) != len)
        return compile_fail(c, "pattern contains a NUL character");
    if (!check_ecma_escapes(c, source))
        return false;

    /* Under a UTF-8 locale "." and bracket expressions match code points,
     * as JSON Schema expects, and not bytes. */
    out->ctype = utf8_ctype();
    previous = enter_ctype(out->ctype);
    rc = regcomp(&out->compiled, source, REG_EXTENDED | REG_NOSUB);
    if (rc != 0)
        regerror(rc, &out->compiled, message, sizeof(message));
    leave_ctype(previous);
    if (rc != 0)
        return compile_fail(c,
                            "invalid pattern \"%s\": %s (patterns are POSIX "
                            "extended regular expressions)",
                            source, message);
    out->source = source;
    out->ready = true;
    return true;
}

static bool kw_annotation(struct compiler *c, struct node *n,
                          const json_t *value)
{
    (void)c;
    (void)n;
    (void)value;
    return true;
}

static bool kw_schema_uri(struct compiler *c, struct node *n,
                          const json_t *value)
{
    const char *uri = json_string_value(value);

    (void)n;
    if (uri == NULL || strcmp(uri, DRAFT_2020_12) != 0)
        return compile_fail(c, "$schema must be \"%s\", the only draft supported",
                            DRAFT_2020_12);
    return true;
}

/* The root's $defs are compiled before everything else, see
 * compile_definitions(). */
static bool kw_defs(struct compiler *c, struct node *n, const json_t *value)
{
    (void)n;
    (void)value;
    if (c->depth != 0)
        return compile_fail(c, "$defs is supported only at the schema root");
    return true;
}

static bool type_bit_from_name(const json_t *name, unsigned *bit)
{
    const char *s = json_string_value(name);

    for (size_t i = 0; s != NULL && i < sizeof(type_names) / sizeof(type_names[0]);
         i++) {
        if (strcmp(s, type_names[i].name) == 0) {
            *bit = type_names[i].bit;
            return true;
        }
    }
    return false;
}

static bool kw_type(struct compiler *c, struct node *n, const json_t *value)
{
    static const char message[] =
        "type must be one of \"object\", \"array\", \"string\", \"integer\", "
        "\"number\", \"boolean\", \"null\" or a non-empty array of them "
        "without duplicates";
    unsigned bit;

    if (json_is_string(value)) {
        if (!type_bit_from_name(value, &bit))
            return compile_fail(c, "%s", message);
        n->types = bit;
        return true;
    }
    if (!json_is_array(value) || json_array_size(value) == 0)
        return compile_fail(c, "%s", message);
    for (size_t i = 0; i < json_array_size(value); i++) {
        if (!type_bit_from_name(json_array_get(value, i), &bit) ||
            (n->types & bit) != 0)
            return compile_fail(c, "%s", message);
        n->types |= bit;
    }
    return true;
}

static bool kw_enum(struct compiler *c, struct node *n, const json_t *value)
{
    if (!json_is_array(value) || json_array_size(value) == 0)
        return compile_fail(c, "enum must be a non-empty array");
    n->enum_values = value;
    return true;
}

static bool kw_const(struct compiler *c, struct node *n, const json_t *value)
{
    (void)c;
    n->const_value = value;
    return true;
}

static bool kw_minimum(struct compiler *c, struct node *n, const json_t *value)
{
    return read_number(c, value, &n->minimum);
}

static bool kw_maximum(struct compiler *c, struct node *n, const json_t *value)
{
    return read_number(c, value, &n->maximum);
}

static bool kw_exclusive_minimum(struct compiler *c, struct node *n,
                                 const json_t *value)
{
    return read_number(c, value, &n->exclusive_minimum);
}

static bool kw_exclusive_maximum(struct compiler *c, struct node *n,
                                 const json_t *value)
{
    return read_number(c, value, &n->exclusive_maximum);
}

static bool kw_multiple_of(struct compiler *c, struct node *n,
                           const json_t *value)
{
    if (!json_is_number(value) || number_value(value) <= 0)
        return compile_fail(c, "multipleOf must be a number greater than 0");
    n->multiple_of = value;
    return true;
}

static bool kw_min_length(struct compiler *c, struct node *n,
                          const json_t *value)
{
    return read_count(c, value, &n->min_length);
}

static bool kw_max_length(struct compiler *c, struct node *n,
                          const json_t *value)
{
    return read_count(c, value, &n->max_length);
}

static bool kw_pattern(struct compiler *c, struct node *n, const json_t *value)
{
    if (!json_is_string(value))
        return compile_fail(c, "pattern must be a string");
    return compile_regex(c, json_string_value(value), json_string_length(value),
                         &n->pattern);
}

static bool kw_format(struct compiler *c, struct node *n, const json_t *value)
{
    const char *name = json_string_value(value);

    if (name == NULL)
        return compile_fail(c, "format must be a string");
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(name, format_names[i].name) == 0)
            n->format = format_names[i].format;
    }
    return true;
}

static bool kw_min_items(struct compiler *c, struct node *n,
                         const json_t *value)
{
    return read_count(c, value, &n->min_items);
}

static bool kw_max_items(struct compiler *c, struct node *n,
                         const json_t *value)
{
    return read_count(c, value, &n->max_items);
}

static bool kw_unique_items(struct compiler *c, struct node *n,
                            const json_t *value)
{
    if (!json_is_boolean(value))
        return compile_fail(c, "uniqueItems must be a boolean");
    n->unique_items = json_is_true(value);
    return true;
}

static bool kw_prefix_items(struct compiler *c, struct node *n,
                            const json_t *value)
{
    return compile_list(c, value, &n->prefix_items);
}

static bool kw_items(struct compiler *c, struct node *n, const json_t *value)
{
    if (json_is_array(value))
        return compile_fail(c, "items must be a schema; draft 2020-12 uses "
                               "prefixItems for per-position schemas");
    return compile_subschema(c, value, &n->items);
}

static bool kw_min_properties(struct compiler *c, struct node *n,
                              const json_t *value)
{
    return read_count(c, value, &n->min_properties);
}

static bool kw_max_properties(struct compiler *c, struct node *n,
                              const json_t *value)
{
    return read_count(c, value, &n->max_properties);
}

static bool kw_required(struct compiler *c, struct node *n,
                        const json_t *value)
{
    static const char message[] =
        "required must be an array of distinct strings";

    if (!json_is_array(value))
        return compile_fail(c, "%s", message);
    for (size_t i = 0; i < json_array_size(value); i++) {
        const json_t *name = json_array_get(value, i);

        if (!json_is_string(name))
            return compile_fail(c, "%s", message);
        for (size_t j = 0; j < i; j++) {
            if (values_equal(name, json_array_get(value, j)))
                return compile_fail(c, "%s", message);
        }
    }
    n->required = value;
    return true;
}

static bool kw_properties(struct compiler *c, struct node *n,
                          const json_t *value)
{
    const char *name;
    const json_t *schema;

    if (!json_is_object(value))
        return compile_fail(c, "properties must be an object of schemas");
    n->properties = calloc(json_object_size(value) + 1, sizeof(*n->properties));
    if (n->properties == NULL)
        return compile_fail(c, "out of memory");
    n->properties_object = value;

    json_object_foreach ((json_t *)value, name, schema) {
        struct property *p = &n->properties[n->property_count++];
        bool ok;

        p->name = name;
        path_push_key(&c->path, name);
        ok = compile_subschema(c, schema, &p->schema);
        path_pop(&c->path);
        if (!ok)
            return false;
    }
    return true;
}

static bool kw_pattern_properties(struct compiler *c, struct node *n,
                                  const json_t *value)
{
    const char *pattern;
    const json_t *schema;

    if (!json_is_object(value))
        return compile_fail(c, "patternProperties must be an object of schemas");
    n->pattern_properties =
        calloc(json_object_size(value) + 1, sizeof(*n->pattern_properties));
    if (n->pattern_properties == NULL)
        return compile_fail(c, "out of memory");

    json_object_foreach ((json_t *)value, pattern, schema) {
        struct pattern_property *p =
            &n->pattern_properties[n->pattern_property_count++];
        bool ok;

        path_push_key(&c->path, pattern);
        ok = compile_regex(c, pattern, strlen(pattern), &p->regex) &&
             compile_subschema(c, schema, &p->schema);
        path_pop(&c->path);
        if (!ok)
            return false;
    }
    return true;
}

static bool kw_additional_properties(struct compiler *c, struct node *n,
                                     const json_t *value)
{
    return compile_subschema(c, value, &n->additional_properties);
}

static bool kw_all_of(struct compiler *c, struct node *n, const json_t *value)
{
    return compile_list(c, value, &n->all_of);
}

static bool kw_any_of(struct compiler *c, struct node *n, const json_t *value)
{
    return compile_list(c, value, &n->any_of);
}

static bool kw_one_of(struct compiler *c, struct node *n, const json_t *value)
{
    return compile_list(c, value, &n->one_of);
}

static bool kw_not(struct compiler *c, struct node *n, const json_t *value)
{
    return compile_subschema(c, value, &n->not_schema);
}

/* Decodes the JSON Pointer escapes ~0 and ~1 of a $defs name in place. */
static bool unescape_pointer_token(char *s)
{
    char *out = s;

    for (const char *p = s; *p; p++) {
        if (*p == '/')
            return false;
        if (*p == '~') {
            if (p[1] != '0' && p[1] != '1')
                return false;
            *out++ = p[1] == '0' ? '~' : '/';
            p++;
            continue;
        }
        *out++ = *p;
    }
    *out = '\0';
    return true;
}

static bool kw_ref(struct compiler *c, struct node *n, const json_t *value)
{
    const char *ref = json_string_value(value);
    const hg_schema *s = c->schema;
    char *name;
    bool ok;

    if (ref == NULL || strncmp(ref, REF_PREFIX, strlen(REF_PREFIX)) != 0)
        return compile_fail(c,
                            "$ref %s%s%s is not supported; use a local reference "
                            "of the form \"#/$defs/name\"",
                            ref != NULL ? "\"" : "",
                            ref != NULL ? ref : "that is not a string",
                            ref != NULL ? "\"" : "");
    name = strdup(ref + strlen(REF_PREFIX));
    if (name == NULL)
        return compile_fail(c, "out of memory");
    ok = unescape_pointer_token(name);

    for (size_t i = 0; ok && i < s->definition_count; i++) {
        if (strcmp(s->definitions[i].name, name) == 0)
            n->ref = s->definitions[i].schema;
    }
    free(name);
    if (n->ref == NULL)
        return compile_fail(c, "$ref \"%s\" names no entry of the root $defs",
                            ref);
    return true;
}

typedef bool (*keyword_fn)(struct compiler *c, struct node *n,
                           const json_t *value);

static const struct {
    const char *name;
    keyword_fn compile;
} keywords[] = {
    {"$schema", kw_schema_uri},
    {"$id", kw_annotation},
    {"$comment", kw_annotation},
    {"title", kw_annotation},
    {"description", kw_annotation},
    {"examples", kw_annotation},
    {"default", kw_annotation},
    {"deprecated", kw_annotation},
    {"$defs", kw_defs},
    {"$ref", kw_ref},
    {"type", kw_type},
    {"enum", kw_enum},
    {"const", kw_const},
    {"minimum", kw_minimum},
    {"maximum", kw_maximum},
    {"exclusiveMinimum", kw_exclusive_minimum},
    {"exclusiveMaximum", kw_exclusive_maximum},
    {"multipleOf", kw_multiple_of},
    {"minLength", kw_min_length},
    {"maxLength", kw_max_length},
    {"pattern", kw_pattern},
    {"format", kw_format},
    {"minItems", kw_min_items},
    {"maxItems", kw_max_items},
    {"uniqueItems", kw_unique_items},
    {"prefixItems", kw_prefix_items},
    {"items", kw_items},
    {"minProperties", kw_min_properties},
    {"maxProperties", kw_max_properties},
    {"required", kw_required},
    {"properties", kw_properties},
    {"patternProperties", kw_pattern_properties},
    {"additionalProperties", kw_additional_properties},
    {"allOf", kw_all_of},
    {"anyOf", kw_any_of},
    {"oneOf", kw_one_of},
    {"not", kw_not},
};

static keyword_fn find_keyword(const char *name)
{
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (strcmp(keywords[i].name, name) == 0)
            return keywords[i].compile;
    }
    return NULL;
}

static bool compile_into(struct compiler *c, struct node *n, const json_t *json)
{
    const char *name;
    const json_t *value;

    if (json_is_boolean(json)) {
        n->boolean = json_is_true(json);
        return true;
    }
    if (!json_is_object(json))
        return compile_fail(c, "a schema must be an object or a boolean");

    json_object_foreach ((json_t *)json, name, value) {
        keyword_fn compile = find_keyword(name);
        bool ok;

        if (compile == NULL)
            return compile_fail(c, "unknown keyword \"%s\"", name);
        path_push_key(&c->path, name);
        ok = compile(c, n, value);
        path_pop(&c->path);
        if (!ok)
            return false;
    }
    return true;
}

/* Creates a node for every entry of the root's $defs before compiling any of
 * them, so that a $ref can name an entry that comes later or itself. */
static bool compile_definitions(struct compiler *c, const json_t *defs)
{
    hg_schema *s = c->schema;
    const char *name;
    const json_t *schema;

    if (defs == NULL)
        return true;
    path_push_key(&c->path, "$defs");
    if (!json_is_object(defs))
        return compile_fail(c, "$defs must be an object of schemas");
    s->definitions = calloc(json_object_size(defs) + 1, sizeof(*s->definitions));
    if (s->definitions == NULL)
        return compile_fail(c, "out of memory");
    json_object_foreach ((json_t *)defs, name, schema) {
        struct definition *d = &s->definitions[s->definition_count++];

        d->name = name;
        d->schema = node_new(c);
        if (d->schema == NULL)
            return compile_fail(c, "out of memory");
    }

    c->depth++;
    for (size_t i = 0; i < s->definition_count; i++) {
        struct definition *d = &s->definitions[i];

        path_push_key(&c->path, d->name);
        if (!compile_into(c, d->schema, json_object_get(defs, d->name)))
            return false;
        path_pop(&c->path);
    }
    c->depth--;
    path_pop(&c->path);
    return true;
}

static bool compile_root(struct compiler *c)
{
    hg_schema *s = c->schema;

    s->root = node_new(c);
    if (s->root == NULL)
        return compile_fail(c, "out of memory");
    return compile_into(c, s->root, s->document);
}

hg_schema *hg_schema_compile(const json_t *schema, char *err, size_t errsz)
{
    struct compiler c = {.err = err, .errsz = errsz};
    const json_t *defs = NULL;
    hg_schema *s;

    c.path = (struct path){.segments = c.segments, .capacity = SCHEMA_PATH_MAX};
    if (errsz > 0)
        err[0] = '\0';
    if (schema == NULL) {
        compile_fail(&c, "no schema to compile");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->document = json_deep_copy(schema)) == NULL) {
        free(s);
        compile_fail(&c, "out of memory");
        return NULL;
    }
    c.schema = s;

    if (json_is_object(s->document))
        defs = json_object_get(s->document, "$defs");
    if (!compile_definitions(&c, defs) || !compile_root(&c)) {
        hg_schema_free(s);
        return NULL;
    }
    return s;
}

static void node_free(struct node *n)
{
    if (n->pattern.ready)
        regfree(&n->pattern.compiled);
    for (size_t i = 0; i < n->pattern_property_count; i++) {
        if (n->pattern_properties[i].regex.ready)
            regfree(&n->pattern_properties[i].regex.compiled);
    }
    free(n->pattern_properties);
    free(n->properties);
    free(n->prefix_items.items);
    free(n->all_of.items);
    free(n->any_of.items);
    free(n->one_of.items);
    free(n);
}

void hg_schema_free(hg_schema *schema)
{
    if (schema == NULL)
        return;
    for (size_t i = 0; i < schema->node_count; i++)
        node_free(schema->nodes[i]);
    free(schema->nodes);
    free(schema->definitions);
    json_decref(schema->document);
    free(schema);
}

/* ------------------------------------------------------------------------
 * Validating
 */

struct validator {
    struct path path;
    struct segment segments[HG_SCHEMA_MAX_DEPTH + 1];
    /* Above 0 inside anyOf, oneOf and not, where a failing subschema is
     * expected and its message is not written. */
    int quiet;
    /* Set when a guard stops validation: the message is written even when
     * quiet, and every caller returns false at once. */
    bool aborted;
    /* Path length at the most recent failure while quiet, used to pick the
     * subschema that came closest to matching. */
    size_t fail_depth;
    int eval_depth;
    int ref_chain;
    char *err;
    size_t errsz;
};

__attribute__((format(printf, 2, 3))) static bool
vfail(struct validator *v, const char *fmt, ...)
{
    va_list ap;

    if (v->quiet > 0) {
        v->fail_depth = v->path.length;
        return false;
    }
    va_start(ap, fmt);
    write_error(v->err, v->errsz, &v->path, fmt, ap);
    va_end(ap);
    return false;
}

__attribute__((format(printf, 2, 3))) static bool
vabort(struct validator *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    write_error(v->err, v->errsz, &v->path, fmt, ap);
    va_end(ap);
    v->aborted = true;
    return false;
}

/* Writes "<pointer>: <prefix><value>, got <instance>" unless quiet. */
static bool vfail_value(struct validator *v, const char *prefix,
                        const json_t *expected, const json_t *instance)
{
    char message[HG_SCHEMA_ERR_MAX];
    struct text t;

    if (v->quiet > 0)
        return vfail(v, "%s", prefix);
    text_init(&t, message, sizeof(message));
    text_printf(&t, "%s", prefix);
    text_value(&t, expected);
    text_printf(&t, ", got ");
    text_value(&t, instance);
    return vfail(v, "%s", message);
}

static bool validate_node(struct validator *v, const struct node *n,
                          const json_t *instance);

/* Validates a member or item, whose location extends the current path. */
static bool validate_child(struct validator *v, const struct node *n,
                           const json_t *instance, const char *key,
                           size_t index)
{
    int ref_chain = v->ref_chain;
    bool ok;

    if (key != NULL)
        path_push_key(&v->path, key);
    else
        path_push_index(&v->path, index);
    v->ref_chain = 0;
    ok = validate_node(v, n, instance);
    v->ref_chain = ref_chain;
    path_pop(&v->path);
    return ok;
}

static bool child_fail(struct validator *v, const char *key, size_t index,
                       const char *message)
{
    if (key != NULL)
        path_push_key(&v->path, key);
    else
        path_push_index(&v->path, index);
    vfail(v, "%s", message);
    path_pop(&v->path);
    return false;
}

static unsigned instance_type(const json_t *instance)
{
    switch (json_typeof(instance)) {
    case JSON_OBJECT:
        return T_OBJECT;
    case JSON_ARRAY:
        return T_ARRAY;
    case JSON_STRING:
        return T_STRING;
    case JSON_INTEGER:
        return T_INTEGER | T_NUMBER;
    case JSON_REAL:
        return is_integral(instance) ? T_INTEGER | T_NUMBER : T_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return T_BOOLEAN;
    case JSON_NULL:
        break;
    }
    return T_NULL;
}

/* A noun for the instance's JSON type, where a real is "a number" even with a
 * zero fraction. */
static const char *instance_noun(const json_t *instance)
{
    unsigned bit = json_is_real(instance) ? T_NUMBER : instance_type(instance);

    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (bit & type_names[i].bit)
            return type_names[i].noun;
    }
    return "null";
}

static bool check_type(struct validator *v, const struct node *n,
                       const json_t *instance)
{
    char expected[160];
    struct text t;
    size_t listed = 0, total = 0;

    if (n->types == 0 || (n->types & instance_type(instance)) != 0)
        return true;

    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        total += (n->types & type_names[i].bit) != 0;
    text_init(&t, expected, sizeof(expected));
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if ((n->types & type_names[i].bit) == 0)
            continue;
        listed++;
        if (listed == total && total > 1)
            text_printf(&t, " or ");
        else if (listed > 1)
            text_printf(&t, ", ");
        text_printf(&t, "%s", type_names[i].noun);
    }
    return vfail(v, "expected %s, got %s", expected, instance_noun(instance));
}

static bool check_enum(struct validator *v, const struct node *n,
                       const json_t *instance)
{
    char message[HG_SCHEMA_ERR_MAX];
    struct text t;
    size_t count = json_array_size(n->enum_values);

    for (size_t i = 0; i < count; i++) {
        if (values_equal(json_array_get(n->enum_values, i), instance))
            return true;
    }
    if (v->quiet > 0)
        return vfail(v, "enum");

    text_init(&t, message, sizeof(message));
    text_printf(&t, "expected one of ");
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            text_printf(&t, ", ");
        text_value(&t, json_array_get(n->enum_values, i));
    }
    text_printf(&t, "; got ");
    text_value(&t, instance);
    return vfail(v, "%s", message);
}

/* Writes a number as mantissa * 10^exponent, using for a real the shortest
 * decimal form that reads back as the same double, which is how the number
 * was written in the JSON text unless it had more than 17 digits. Signs are
 * dropped because divisibility does not depend on them. */
static void to_decimal(const json_t *number, unsigned __int128 *mantissa,
                       int *exponent)
{
    char digits[24];
    json_int_t i;
    int n;

    if (json_is_integer(number)) {
        i = json_integer_value(number);
        *mantissa = i < 0 ? (unsigned __int128)(-(i + 1)) + 1
                          : (unsigned __int128)i;
        *exponent = 0;
        return;
    }
    n = shortest_digits(json_real_value(number), digits);
    *mantissa = 0;
    for (const char *p = digits; *p; p++)
        *mantissa = *mantissa * 10 + (unsigned)(*p - '0');
    *exponent = n - (int)strlen(digits);
}

/* Tests whether x is an integer multiple of m (m > 0) exactly, on the decimal
 * forms of both, so that 0.3 is a multiple of 0.1 although neither is
 * exact in binary. */
static bool is_multiple(const json_t *x, const json_t *m)
{
    unsigned __int128 a, b, divisor, rest;
    int p, q;

    if (json_is_integer(x) && json_is_integer(m))
        return json_integer_value(x) % json_integer_value(m) == 0;
    to_decimal(x, &a, &p);
    to_decimal(m, &b, &q);
    if (a == 0)
        return true;

    /* x / m = (a / b) * 10^(p - q). */
    if (p >= q) {
        rest = a % b;
        for (int k = 0; k < p - q && rest != 0; k++)
            rest = rest * 10 % b;
        return rest == 0;
    }

    /* a < 10^20, so a divisor b * 10^(q - p) of 10^20 or more exceeds it. */
    if (q - p >= 20)
        return false;
    divisor = b;
    for (int k = 0; k < q - p; k++)
        divisor *= 10;
    return a % divisor == 0;
}

static bool check_number(struct validator *v, const struct node *n,
                         const json_t *instance)
{
    long double x = number_value(instance);

    if (n->minimum != NULL && x < number_value(n->minimum))
        return vfail_value(v, "expected a number >= ", n->minimum, instance);
    if (n->exclusive_minimum != NULL && x <= number_value(n->exclusive_minimum))
        return vfail_value(v, "expected a number > ", n->exclusive_minimum,
                           instance);
    if (n->maximum != NULL && x > number_value(n->maximum))
        return vfail_value(v, "expected a number <= ", n->maximum, instance);
    if (n->exclusive_maximum != NULL && x >= number_value(n->exclusive_maximum))
        return vfail_value(v, "expected a number < ", n->exclusive_maximum,
                           instance);

    if (n->multiple_of != NULL && !is_multiple(instance, n->multiple_of))
        return vfail_value(v, "expected a multiple of ", n->multiple_of,
                           instance);
    return true;
}

static bool pattern_matches(const struct regex *regex, const char *s,
                            size_t len)
{
    regmatch_t range = {.rm_so = 0, .rm_eo = (regoff_t)len};
    locale_t previous = enter_ctype(regex->ctype);
    int rc;

    /* REG_STARTEND bounds the match by len, so a string with "\u0000" is
     * matched in full. */
    rc = regexec(&regex->compiled, s, 1, &range, REG_STARTEND);
    leave_ctype(previous);
    return rc == 0;
}

/* Writes "expected <what>, got <quoted string>" unless quiet. */
static bool fail_string(struct validator *v, const char *what, const char *s,
                        size_t len)
{
    char quoted[QUOTE_MAX * 6 + 16];
    struct text t;

    if (v->quiet > 0)
        return vfail(v, "string");
    text_init(&t, quoted, sizeof(quoted));
    text_quote(&t, s, len);
    return vfail(v, "expected %s, got %s", what, quoted);
}

static bool check_string(struct validator *v, const struct node *n,
                         const json_t *instance)
{
    const char *s = json_string_value(instance);
    size_t len = json_string_length(instance);
    size_t chars = utf8_length(s, len);
    char what[HG_SCHEMA_ERR_MAX];
    struct text t;

    if (chars < n->min_length)
        return vfail(v, "expected at least %zu character%s, got %zu",
                     n->min_length, n->min_length == 1 ? "" : "s", chars);
    if (chars > n->max_length)
        return vfail(v, "expected at most %zu character%s, got %zu",
                     n->max_length, n->max_length == 1 ? "" : "s", chars);

    if (n->pattern.ready && !pattern_matches(&n->pattern, s, len)) {
        text_init(&t, what, sizeof(what));
        text_printf(&t, "a string matching the pattern \"%s\"",
                    n->pattern.source);
        return fail_string(v, what, s, len);
    }
    if (!format_valid(n->format, s, len))
        return fail_string(v, format_noun(n->format), s, len);
    return true;
}

struct hashed_item {
    uint64_t hash;
    size_t index;
};

static int compare_hashed(const void *a, const void *b)
{
    const struct hashed_item *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Finds the duplicate pair (first, second) with the lowest second index, then
 * the lowest first index, by comparing every pair. */
static bool find_duplicate_pairwise(const json_t *array, size_t *first,
                                    size_t *second)
{
    size_t count = json_array_size(array);

    for (size_t j = 1; j < count; j++) {
        for (size_t i = 0; i < j; i++) {
            if (values_equal(json_array_get(array, i),
                             json_array_get(array, j))) {
                *first = i;
                *second = j;
                return true;
            }
        }
    }
    return false;
}

/* Searches one run of items with equal hashes, sorted by index, for the pair
 * with the lowest second index and then the lowest first index, and keeps it
 * in (*first, *second) when it comes before the pair found so far. */
static void find_duplicate_in_run(const json_t *array,
                                  const struct hashed_item *run, size_t length,
                                  size_t *first, size_t *second, bool *found)
{
    for (size_t j = 1; j < length; j++) {
        for (size_t i = 0; i < j; i++) {
            size_t a = run[i].index, b = run[j].index;

            if (!values_equal(json_array_get(array, a), json_array_get(array, b)))
                continue;
            if (!*found || b < *second || (b == *second && a < *first)) {
                *first = a;
                *second = b;
                *found = true;
            }
            return;
        }
    }
}

/* Finds the same pair as find_duplicate_pairwise(), but compares only items
 * whose hashes are equal. Falls back to comparing every pair when out of
 * memory. */
static bool find_duplicate(const json_t *array, size_t *first, size_t *second)
{
    size_t count = json_array_size(array);
    struct hashed_item *items;
    uint64_t key[2] = {0x0706050403020100ULL, 0x0F0E0D0C0B0A0908ULL};
    bool found = false;

    if (count <= UNIQUE_PAIRWISE_MAX ||
        (items = malloc(count * sizeof(*items))) == NULL)
        return find_duplicate_pairwise(array, first, second);

    /* A fresh key per search. Without the random source the key mixes in a
     * heap address instead, which keeps results correct but protects less. */
    if (getrandom(key, sizeof(key), GRND_NONBLOCK) != (ssize_t)sizeof(key))
        key[0] ^= (uint64_t)(uintptr_t)items;
    for (size_t i = 0; i < count; i++)
        items[i] = (struct hashed_item){hash_value(key, json_array_get(array, i)),
                                        i};
    qsort(items, count, sizeof(*items), compare_hashed);

    for (size_t start = 0, end; start < count; start = end) {
        for (end = start + 1; end < count && items[end].hash == items[start].hash;)
            end++;
        find_duplicate_in_run(array, items + start, end - start, first, second,
                              &found);
    }
    free(items);
    return found;
}

static bool check_items(struct validator *v, const struct node *n,
                        const json_t *instance)
{
    size_t count = json_array_size(instance);
    size_t prefix = n->prefix_items.count < count ? n->prefix_items.count : count;

    for (size_t i = 0; i < prefix; i++) {
        if (!validate_child(v, n->prefix_items.items[i],
                            json_array_get(instance, i), NULL, i))
            return false;
    }
    if (n->items == NULL)
        return true;
    for (size_t i = prefix; i < count; i++) {
        if (n->items->boolean == 0) {
            char message[128];

            snprintf(message, sizeof(message),
                     "unexpected item, the array allows at most %zu item%s",
                     prefix, prefix == 1 ? "" : "s");
            return child_fail(v, NULL, i, message);
        }
        if (!validate_child(v, n->items, json_array_get(instance, i), NULL, i))
            return false;
    }
    return true;
}

static bool check_array(struct validator *v, const struct node *n,
                        const json_t *instance)
{
    size_t count = json_array_size(instance);
    size_t first = 0, second = 0;

    if (count < n->min_items)
        return vfail(v, "expected at least %zu item%s, got %zu", n->min_items,
                     n->min_items == 1 ? "" : "s", count);
    if (count > n->max_items)
        return vfail(v, "expected at most %zu item%s, got %zu", n->max_items,
                     n->max_items == 1 ? "" : "s", count);
    if (n->unique_items && find_duplicate(instance, &first, &second))
        return vfail(v, "items %zu and %zu are equal, expected unique items",
                     first, second);
    return check_items(v, n, instance);
}

static bool check_member_names(struct validator *v, const struct node *n,
                               const json_t *instance)
{
    size_t count = json_object_size(instance);

    if (count < n->min_properties)
        return vfail(v, "expected at least %zu propert%s, got %zu",
                     n->min_properties, n->min_properties == 1 ? "y" : "ies",
                     count);
    if (count > n->max_properties)
        return vfail(v, "expected at most %zu propert%s, got %zu",
                     n->max_properties, n->max_properties == 1 ? "y" : "ies",
                     count);

    for (size_t i = 0; i < json_array_size(n->required); i++) {
        const json_t *name = json_array_get(n->required, i);

        if (json_object_get(instance, json_string_value(name)) == NULL)
            return vfail(v, "missing required property \"%s\"",
                         json_string_value(name));
    }
    return true;
}

/* Applies patternProperties and additionalProperties to one member. */
static bool check_other_member(struct validator *v, const struct node *n,
                               const char *key, const json_t *value)
{
    bool matched = json_object_get(n->properties_object, key) != NULL;

    for (size_t i = 0; i < n->pattern_property_count; i++) {
        const struct pattern_property *p = &n->pattern_properties[i];

        if (!pattern_matches(&p->regex, key, strlen(key)))
            continue;
        matched = true;
        if (!validate_child(v, p->schema, value, key, 0))
            return false;
    }
    if (matched || n->additional_properties == NULL)
        return true;
    if (n->additional_properties->boolean == 0)
        return child_fail(v, key, 0,
                          "property is not allowed by additionalProperties");
    return validate_child(v, n->additional_properties, value, key, 0);
}

static bool check_object(struct validator *v, const struct node *n,
                         const json_t *instance)
{
    const char *key;
    const json_t *value;

    if (!check_member_names(v, n, instance))
        return false;
    for (size_t i = 0; i < n->property_count; i++) {
        const struct property *p = &n->properties[i];

        value = json_object_get(instance, p->name);
        if (value != NULL && !validate_child(v, p->schema, value, p->name, 0))
            return false;
    }

    if (n->pattern_property_count == 0 && n->additional_properties == NULL)
        return true;
    json_object_foreach ((json_t *)instance, key, value) {
        if (!check_other_member(v, n, key, value))
            return false;
    }
    return true;
}

static bool validate_ref(struct validator *v, const struct node *n,
                         const json_t *instance)
{
    bool ok;

    if (v->ref_chain >= HG_SCHEMA_MAX_REF_CHAIN)
        return vabort(v,
                      "more than %d $ref in a row at this location; the schema "
                      "has a $ref cycle that never descends into the instance",
                      HG_SCHEMA_MAX_REF_CHAIN);
    v->ref_chain++;
    ok = validate_node(v, n->ref, instance);
    v->ref_chain--;
    return ok;
}

/* Runs a subschema only to learn whether it matches. */
static bool matches(struct validator *v, const struct node *n,
                    const json_t *instance)
{
    bool ok;

    v->quiet++;
    ok = validate_node(v, n, instance);
    v->quiet--;
    return ok;
}

/* Reports that no subschema of list matched, with the error of the one at
 * index closest, whose failure lies deepest in the instance and which is
 * therefore usually the intended one. */
static bool fail_no_match(struct validator *v, const struct node_list *list,
                          size_t closest, const char *keyword_name,
                          const json_t *instance)
{
    char detail[HG_SCHEMA_ERR_MAX];
    char *err = v->err;
    size_t errsz = v->errsz;

    if (v->quiet > 0)
        return vfail(v, "%s", keyword_name);

    /* Run the closest subschema again, now writing its message. */
    v->err = detail;
    v->errsz = sizeof(detail);
    validate_node(v, list->items[closest], instance);
    v->err = err;
    v->errsz = errsz;
    if (v->aborted)
        return vabort(v, "%s", detail);
    return vfail(v, "matches none of the %zu schemas in %s (closest: schema "
                    "%zu, which fails with \"%s\")",
                 list->count, keyword_name, closest, detail);
}

/* Records subschema index as the closest match so far when its failure lies
 * deeper than the failures before it. */
static void note_failure(const struct validator *v, size_t index,
                         size_t *closest, size_t *closest_depth)
{
    if (index == 0 || v->fail_depth > *closest_depth) {
        *closest = index;
        *closest_depth = v->fail_depth;
    }
}

static bool check_any_of(struct validator *v, const struct node *n,
                         const json_t *instance)
{
    size_t closest = 0, closest_depth = 0;

    for (size_t i = 0; i < n->any_of.count; i++) {
        if (matches(v, n->any_of.items[i], instance))
            return true;
        if (v->aborted)
            return false;
        note_failure(v, i, &closest, &closest_depth);
    }
    return fail_no_match(v, &n->any_of, closest, "anyOf", instance);
}

static bool check_one_of(struct validator *v, const struct node *n,
                         const json_t *instance)
{
    size_t closest = 0, closest_depth = 0, matched = 0, first = 0;

    for (size_t i = 0; i < n->one_of.count; i++) {
        if (!matches(v, n->one_of.items[i], instance)) {
            if (v->aborted)
                return false;
            note_failure(v, i, &closest, &closest_depth);
            continue;
        }
        if (++matched == 2)
            return vfail(v, "matches schemas %zu and %zu in oneOf, expected "
                            "exactly one",
                         first, i);
        first = i;
    }
    if (matched == 0)
        return fail_no_match(v, &n->one_of, closest, "oneOf", instance);
    return true;
}

static bool check_applicators(struct validator *v, const struct node *n,
                              const json_t *instance)
{
    if (n->ref != NULL && !validate_ref(v, n, instance))
        return false;
    for (size_t i = 0; i < n->all_of.count; i++) {
        if (!validate_node(v, n->all_of.items[i], instance))
            return false;
    }
    if (n->any_of.count > 0 && !check_any_of(v, n, instance))
        return false;
    if (n->one_of.count > 0 && !check_one_of(v, n, instance))
        return false;
    if (n->not_schema != NULL && matches(v, n->not_schema, instance))
        return vfail(v, "matches the schema in not, expected it not to");
    return !v->aborted;
}

static bool check_node(struct validator *v, const struct node *n,
                       const json_t *instance)
{
    if (n->boolean >= 0)
        return n->boolean == 1 ||
               vfail(v, "no value is allowed here because the schema is false");

    if (!check_type(v, n, instance))
        return false;
    if (n->enum_values != NULL && !check_enum(v, n, instance))
        return false;
    if (n->const_value != NULL && !values_equal(n->const_value, instance))
        return vfail_value(v, "expected ", n->const_value, instance);

    if (json_is_number(instance) && !check_number(v, n, instance))
        return false;
    if (json_is_string(instance) && !check_string(v, n, instance))
        return false;
    if (json_is_array(instance) && !check_array(v, n, instance))
        return false;
    if (json_is_object(instance) && !check_object(v, n, instance))
        return false;
    return check_applicators(v, n, instance);
}

static bool validate_node(struct validator *v, const struct node *n,
                          const json_t *instance)
{
    bool ok;

    if (v->aborted)
        return false;
    if (v->eval_depth >= HG_SCHEMA_MAX_EVAL_DEPTH)
        return vabort(v, "validation nests more than %d subschemas here",
                      HG_SCHEMA_MAX_EVAL_DEPTH);
    v->eval_depth++;
    ok = check_node(v, n, instance);
    v->eval_depth--;
    return ok;
}

/* Fails at the first array or object nested deeper than
 * HG_SCHEMA_MAX_DEPTH, before validation walks the instance. */
static bool check_depth(struct validator *v, const json_t *instance, int level)
{
    const char *key;
    const json_t *value;
    bool ok = true;

    if (!json_is_array(instance) && !json_is_object(instance))
        return true;
    if (level > HG_SCHEMA_MAX_DEPTH)
        return vabort(v, "arrays and objects nest deeper than %d levels",
                      HG_SCHEMA_MAX_DEPTH);

    if (json_is_array(instance)) {
        for (size_t i = 0; ok && i < json_array_size(instance); i++) {
            path_push_index(&v->path, i);
            ok = check_depth(v, json_array_get(instance, i), level + 1);
            path_pop(&v->path);
        }
        return ok;
    }
    json_object_foreach ((json_t *)instance, key, value) {
        path_push_key(&v->path, key);
        ok = check_depth(v, value, level + 1);
        path_pop(&v->path);
        if (!ok)
            return false;
    }
    return true;
}

bool hg_schema_validate(const hg_schema *schema, const json_t *instance,
                        char *err, size_t errsz)
{
    struct validator v = {.err = err, .errsz = errsz};

    v.path = (struct path){.segments = v.segments,
                           .capacity = HG_SCHEMA_MAX_DEPTH + 1};
    if (errsz > 0)
        err[0] = '\0';
    if (instance == NULL)
        return vabort(&v, "no instance to validate");

    if (!check_depth(&v, instance, 1))
        return false;
    return validate_node(&v, schema->root, instance);
}
