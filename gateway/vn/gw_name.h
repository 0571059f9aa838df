/* gw_name: personal names as stored, compared and sent (docs/domain.md section 11).
 *
 * A legacy account's full name is stored in its display form (gw_name_normalize) next to
 * its strict key (gw_name_strict_key, decides equality). The loose key only ranks
 * candidates. The population-DB request takes the form its config asks for
 * (gw_name_format_popdb). gw_name_legacy_encoding flags text that looks like TCVN3/ABC or
 * VNI-Windows bytes read as Latin-1: an admin converts those, eidgw never does.
 *
 * Pure code on libutf8proc: no I/O, no global state, safe on any thread.
 * Every function takes a NUL-terminated UTF-8 string of at most GW_NAME_MAX_IN bytes and
 * writes a NUL-terminated result of at most outlen bytes (NUL included). Return 0, or:
 *   GW_EINVAL  invalid UTF-8, a control character (C0, DEL, C1, bidi controls), U+FFFD,
 *              or a name the requested form cannot represent;
 *   GW_ETOOBIG the input is longer than GW_NAME_MAX_IN or the result does not fit;
 *   GW_ENOMEM  out of memory.
 * On failure `out` is left untouched. */
#ifndef GW_NAME_H
#define GW_NAME_H
#include <stddef.h>

#define GW_NAME_MAX_IN 4096

/* Display form: valid UTF-8 only; look-alikes mapped (Ð->Đ, ð->đ; U+2018, U+2019, U+02BC
 * and '`' -> '\''; U+2010..U+2015 -> '-'; NBSP, U+2000..U+200B, U+2028, U+2029, U+202F,
 * U+205F, U+3000, U+FEFF and other space separators -> ' '); NFC; whitespace runs
 * collapsed to one space; trimmed. Case is kept. Idempotent. "" stays "". */
int gw_name_normalize(const char *in, char *out, size_t outlen);

/* Strict comparison key (rule 4): the display form, full case fold, then per
 * space-separated syllable: NFD, the one tone mark removed (U+0300, U+0301, U+0303,
 * U+0309, U+0323; U+0302, U+0306 and U+031B kept), NFC, and a tone tag appended:
 * '0' none, '1' huyền, '2' sắc, '3' hỏi, '4' ngã, '5' nặng. A syllable with more than one
 * tone mark keeps them all and gets '0'. "Hòa" and "Hoà" give "hoa1"; "Lê" gives "lê0"
 * and "Le" "le0". For any s: strict_key(normalize(s)) == strict_key(s). */
int gw_name_strict_key(const char *in, char *out, size_t outlen);

/* Loose key (rule 5, ranking only): the display form, case folded, every combining mark
 * stripped, đ -> d: "Nguyễn Văn A" -> "nguyen van a". */
int gw_name_loose_key(const char *in, char *out, size_t outlen);

/* The name as the population-DB matching service wants it ([popdb] name_format):
 *   "nfc"                  the display form;
 *   "nfc_upper"            the display form in upper case ("NGUYỄN VĂN AN");
 *   "ascii_upper_nospace"  marks stripped, Đ -> D, compatibility forms folded, upper
 *                          case, spaces removed ("NGUYENVANAN"); GW_EINVAL when a
 *                          character has no ASCII form.
 * Any other format: GW_EINVAL. */
int gw_name_format_popdb(const char *in, const char *format, char *out, size_t outlen);

#define GW_NAME_LEGACY_ENCODING 0x1u

/* Rule 6 detector for imported names. Returns GW_NAME_LEGACY_ENCODING (the store keeps it
 * as the account flag GW_ACCT_FLAG_LEGACY_ENCODING)
 * when the text looks like TCVN3/ABC or VNI-Windows bytes decoded as Latin-1, else 0
 * (also for invalid UTF-8 and NULL). Text holding letters only Unicode Vietnamese has
 * (U+1EA0..U+1EF9, ă, đ, ĩ, ũ, ơ, ư, or their combining marks) is never flagged.
 *   TCVN3: a TCVN3 tone/vowel symbol (¸ µ ¶ · ¹ ¨ © ª « ¬ ® » ¼ ½ ¾ ×, ...) inside a word,
 *          or an upper-case Latin-1 letter TCVN3 uses for toned lower-case vowels
 *          (Æ Ç Ê Ë Ì Î Ï Ñ Ò Ô Õ Ö Ø Ü Þ ...) right after a lower-case letter, as
 *          in "B¶o Th¾ng", "NguyÔn ThÞ".
 *   VNI:   a vowel followed by ø, a/e/o followed by â, a followed by ê, or ô/ö with a
 *          tone byte ("chaøo", "Leâ", "Vaên", "Ñöùc").
 *   Weaker signs count only in pairs: two vowel + VNI tone byte pairs (aù aû aõ aï ...,
 *   as in "caùc baïn"), or ß after a lower-case letter. Pairs that Unicode Vietnamese
 *   also writes with Latin-1 letters ("Hoà", "quá", "già", "tuân", "tiên") never count,
 *   and a single "Raúl", "Anaïs", "Straße", "FRANÇOIS" or "José" is not flagged.
 * Looks at the first GW_NAME_MAX_IN bytes. Never converts anything. */
unsigned gw_name_legacy_encoding(const char *in);

#endif
