//! Cell values as real exports write them: tolerant parsing of decimals, times and nulls.
//!
//! Exporters write nulls as an empty string, `NULL`, `null` or Python's `None`; numbers in
//! plain, long-decimal and scientific forms (`1E+3`, `1.0e3`, `2.5E-7`, `-0`); times in
//! ISO 8601 with or without milliseconds or zone, `YYYY-MM-DD HH:MM:SS[ UTC]`, and the
//! US `M/D/YYYY` of Azure exports. Everything here is pure and never panics.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;

/// `str::trim`, without decoding characters when the cell starts and ends with a visible
/// ASCII byte (almost every cell): trimming was a tenth of reading a CUR line.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// True for the spellings of "no value" seen in real exports.
pub fn is_null(s: &str) -> bool {
    let t = trim(s);
    // Every null spelling is short; most cells are not, so test the length first.
    t.len() <= 4 && is_null_spelling(t)
}

fn is_null_spelling(t: &str) -> bool {
    t.is_empty()
        || t.eq_ignore_ascii_case("null")
        || t == "None"
        || t == "\\N"
        || t.eq_ignore_ascii_case("n/a")
}

/// The trimmed text, or `None` for a null spelling.
pub fn text(s: &str) -> Option<&str> {
    let t = trim(s);
    if t.len() <= 4 && is_null_spelling(t) {
        None
    } else {
        Some(t)
    }
}

/// Parses a decimal in any form real exports write. `Ok(None)` for a null.
///
/// More fractional digits than `Decimal` holds (28) are rounded, never rejected: a rate of
/// `0.0000000072922557592391990000` must not cost the row. `-0` becomes `0`.
pub fn decimal(s: &str) -> Result<Option<Decimal>, String> {
    let t = trim(s);
    if is_null(t) {
        return Ok(None);
    }
    let unsigned = t.strip_prefix('+').unwrap_or(t);
    let value = match unsigned.find(['e', 'E']) {
        Some(pos) => scientific(&unsigned[..pos], &unsigned[pos + 1..]),
        None => plain(unsigned),
    }
    // Name the whole cell, not the part that failed: "zero" is not a number, "z" says less.
    .map_err(|why| format!("{why} in {t:?}"))?;
    // Trailing zeros are kept as written (1.50 == 1.5 compares equal); only the sign of a
    // zero is dropped, so `-0` prints as `0`.
    Ok(Some(if value.is_zero() {
        Decimal::ZERO
    } else {
        value
    }))
}

fn plain(t: &str) -> Result<Decimal, String> {
    // One pass: digits into an integer mantissa and the count of digits after the point.
    // Anything with more than 28 significant digits (which `Decimal` cannot hold exactly)
    // falls back to `from_str`, which rounds the excess fractional digits.
    let bytes = t.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut mantissa: u128 = 0;
    let mut significant = 0u32;
    let mut scale = 0u32;
    let mut seen_point = false;
    let mut seen_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if seen_point {
                    scale += 1;
                }
                if mantissa != 0 || b != b'0' {
                    significant += 1;
                }
                mantissa = mantissa * 10 + u128::from(b - b'0');
                if significant > 28 || scale > 28 {
                    return Decimal::from_str(t).map_err(|e| format!("number out of range ({e})"));
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err("not a number".into()),
        }
    }
    if !seen_digit {
        return Err("not a number".into());
    }
    let signed = i128::try_from(mantissa).map_err(|_| "number out of range".to_string())?;
    Decimal::try_from_i128_with_scale(if negative { -signed } else { signed }, scale)
        .map_err(|e| format!("number out of range ({e})"))
}

fn scientific(mantissa: &str, exponent: &str) -> Result<Decimal, String> {
    let m = plain(mantissa)?;
    let exp_text = exponent.strip_prefix('+').unwrap_or(exponent);
    let exp: i32 = exp_text.parse().map_err(|_| "not a number".to_string())?;
    if exp.abs() > 60 {
        return Err("exponent out of range".into());
    }
    let out_of_range = || "number out of range".to_string();
    // m × 10^exp is m's digits with the scale moved by exp: no arithmetic while the new
    // scale stays within what `Decimal` holds (real files write `2.5E-7` by the million).
    let scale = i64::from(m.scale()) - i64::from(exp);
    if let Ok(places) = u32::try_from(scale) {
        if places <= 28 {
            return Decimal::try_from_i128_with_scale(m.mantissa(), places)
                .map_err(|_| out_of_range());
        }
        // Past 28 places the value rounds, as a too-long decimal would.
        let mut v = Decimal::from_i128_with_scale(m.mantissa(), 28);
        for _ in 28..places {
            v = v.checked_div(Decimal::TEN).unwrap_or(Decimal::ZERO);
        }
        return Ok(v);
    }
    let shift = u32::try_from(-scale).map_err(|_| out_of_range())?;
    let factor = 10i128.checked_pow(shift).ok_or_else(out_of_range)?;
    let digits = m.mantissa().checked_mul(factor).ok_or_else(out_of_range)?;
    Decimal::try_from_i128_with_scale(digits, 0).map_err(|_| out_of_range())
}

/// Parses a float measurement (metrics only, never money). `Ok(None)` for a null.
pub fn float(s: &str) -> Result<Option<f64>, String> {
    let t = trim(s);
    if is_null(t) {
        return Ok(None);
    }
    let v: f64 = t.parse().map_err(|_| format!("not a number: {t:?}"))?;
    if v.is_finite() {
        Ok(Some(v))
    } else {
        Err(format!("not a finite number: {t:?}"))
    }
}

/// Parses a UTC instant in any of the forms real exports write. A time with no zone is UTC.
/// A bare date is its midnight.
pub fn timestamp(s: &str) -> Result<Option<DateTime<Utc>>, String> {
    let t = trim(s);
    if is_null(t) {
        return Ok(None);
    }
    if let Some(dt) = iso_utc(t.as_bytes()) {
        return Ok(Some(dt));
    }
    timestamp_by_formats(t)
}

/// `timestamp` by trying each form in turn with chrono: every form, at about a
/// microsecond a cell. `iso_utc` reads the common forms first.
fn timestamp_by_formats(t: &str) -> Result<Option<DateTime<Utc>>, String> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(Some(dt.with_timezone(&Utc)));
    }
    let bare = t
        .strip_suffix(" UTC")
        .or_else(|| t.strip_suffix("UTC"))
        .or_else(|| t.strip_suffix('Z'))
        .unwrap_or(t)
        .trim();
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(bare, f) {
            return Ok(Some(n.and_utc()));
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Ok(Some(dt.with_timezone(&Utc)));
        }
    }
    if let Some(d) = date_only(bare) {
        return Ok(Some(d.and_time(NaiveTime::MIN).and_utc()));
    }
    Err(format!("not a date or time: {t:?}"))
}

/// Parses a calendar date (`YYYY-MM-DD`, `YYYYMMDD`, `M/D/YYYY`, `D.M.YYYY`), or the date
/// part of a timestamp.
pub fn date(s: &str) -> Result<Option<NaiveDate>, String> {
    let t = trim(s);
    if is_null(t) {
        return Ok(None);
    }
    if let Some(d) = digits_date(t.as_bytes()) {
        return Ok(Some(d));
    }
    if let Some(d) = date_only(t) {
        return Ok(Some(d));
    }
    timestamp(t).map(|o| o.map(|dt| dt.date_naive()))
}

/// The number the ASCII digits `b` spell; `None` for anything else (or nothing).
fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// `YYYY-MM-DD`, or Azure's `M/D/YYYY` (month and day of one or two digits): the date
/// forms nearly every cell uses, read without chrono's format machinery. `None` for
/// anything else, including dates that do not exist, which `date_only` then judges.
fn digits_date(b: &[u8]) -> Option<NaiveDate> {
    let (y, m, d) = match b {
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] => (
            number(&[*y0, *y1, *y2, *y3])?,
            number(&[*m0, *m1])?,
            number(&[*d0, *d1])?,
        ),
        _ => {
            let mut parts = b.split(|&c| c == b'/');
            let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some()
                || !(1..=2).contains(&m.len())
                || !(1..=2).contains(&d.len())
                || y.len() != 4
            {
                return None;
            }
            (number(y)?, number(m)?, number(d)?)
        }
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// `YYYY-MM-DD`, `T` or a space, `HH:MM`, optionally `:SS` and a fraction of up to nine
/// digits, then nothing, `Z`, `UTC`, ` UTC` or `+00:00`: the forms nearly every billing
/// export writes its times in, read without chrono's format machinery (which tries form
/// after form). `None` for anything else (other zones, leap seconds, times that do not
/// exist), which `timestamp_by_formats` then judges.
fn iso_utc(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 16 || !matches!(b[10], b'T' | b' ') || b[13] != b':' {
        return None;
    }
    let date = digits_date(&b[..10]).filter(|_| b[4] == b'-')?;
    let (hour, minute) = (number(&b[11..13])?, number(&b[14..16])?);
    let mut rest = &b[16..];
    let mut second = 0;
    let mut nano = 0;
    // An offset needs the seconds (as in RFC 3339); a bare `Z` or `UTC` does not.
    let offset_allowed = rest.first() == Some(&b':');
    if let [b':', s0, s1, tail @ ..] = rest {
        second = number(&[*s0, *s1])?;
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            nano = number(&tail[..digits])? * 10u32.pow(9 - u32::try_from(digits).ok()?);
            rest = &tail[digits..];
        }
    }
    let zone_ok = match rest {
        b"" | b"Z" | b"UTC" | b" UTC" => true,
        b"+00:00" => offset_allowed,
        _ => false,
    };
    if !zone_ok || second > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    Some(date.and_time(time).and_utc())
}

fn date_only(t: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%d.%m.%Y", "%Y/%m/%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
}

/// `[first day of the month, first day of the next month)` in UTC; `None` for a month
/// that does not exist.
pub fn month_bounds(year: i32, month: u32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((
        first.and_time(NaiveTime::MIN).and_utc(),
        next.and_time(NaiveTime::MIN).and_utc(),
    ))
}

/// The UTC calendar month holding `t`: the billing period of sources that give none.
pub fn calendar_month(t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::Datelike;
    month_bounds(t.year(), t.month()).unwrap_or((t, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test decimal")
    }

    #[test]
    fn the_ten_spellings_of_one_thousand() {
        // From FOCUS NumericFormat and the non-conformant forms seen in real exports.
        for s in [
            "1000", "1E+3", "1.0e3", "1000.000", "1e+03", "1.000E3", "1E3", "10E2", "1e3", "+1000",
        ] {
            assert_eq!(decimal(s), Ok(Some(dec("1000"))), "{s}");
        }
    }

    #[test]
    fn small_and_long_numbers_are_exact() {
        assert_eq!(decimal("2.5E-7"), Ok(Some(dec("0.00000025"))));
        assert_eq!(decimal("1.25e-6"), Ok(Some(dec("0.00000125"))));
        assert_eq!(
            decimal("114961.468965322154294"),
            Ok(Some(dec("114961.468965322154294")))
        );
        assert_eq!(
            decimal("18446744073709551616"),
            Ok(Some(dec("18446744073709551616")))
        );
        // 28 fractional places: kept.
        assert_eq!(
            decimal("0.0000000072922557592391990000"),
            Ok(Some(dec("0.000000007292255759239199")))
        );
    }

    #[test]
    fn months_bound_a_time() {
        let t = timestamp("2024-02-29 23:59:59")
            .ok()
            .flatten()
            .expect("time");
        let (s, e) = calendar_month(t);
        assert_eq!(s.to_rfc3339(), "2024-02-01T00:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2024-03-01T00:00:00+00:00");
        let (_, e) = month_bounds(2024, 12).expect("december");
        assert_eq!(e.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        assert_eq!(month_bounds(2024, 13), None);
    }

    #[test]
    fn negative_zero_is_zero() {
        for s in ["-0", "0E-10", "-0.000", "0e0"] {
            let v = decimal(s).expect("parses").expect("not null");
            assert!(v.is_zero());
            assert_eq!(v.to_string(), "0", "{s}");
        }
    }

    proptest::proptest! {
        /// The one-pass parser agrees with `Decimal::from_str` on every plain number.
        #[test]
        fn plain_parsing_agrees_with_from_str(int in "-?[0-9]{1,20}", frac in proptest::option::of("[0-9]{0,20}")) {
            let text = match &frac {
                Some(f) => format!("{int}.{f}"),
                None => int.clone(),
            };
            let want = Decimal::from_str(&text).expect("from_str");
            let got = decimal(&text).expect("parses").expect("not null");
            proptest::prop_assert_eq!(got, want, "{}", text);
        }
    }

    proptest::proptest! {
        /// Scientific forms equal the plain number written out by moving the point
        /// (a string operation, no arithmetic), whatever the exponent's sign and size.
        #[test]
        fn scientific_forms_equal_the_point_moved(int in "[1-9][0-9]{0,8}", frac in "[0-9]{0,6}", exp in -20i32..20, neg: bool) {
            let text = format!("{}{int}.{frac}E{exp}", if neg { "-" } else { "" });
            let digits = format!("{int}{frac}");
            // Where the point lands, counted from the left of `digits`.
            let point = i64::try_from(int.len()).expect("short") + i64::from(exp);
            let plain = if point <= 0 {
                format!("0.{}{digits}", "0".repeat(usize::try_from(-point).expect("small")))
            } else if point >= i64::try_from(digits.len()).expect("short") {
                format!("{digits}{}", "0".repeat(usize::try_from(point).expect("small") - digits.len()))
            } else {
                let (a, b) = digits.split_at(usize::try_from(point).expect("small"));
                format!("{a}.{b}")
            };
            let want = Decimal::from_str(&format!("{}{plain}", if neg { "-" } else { "" })).expect("from_str");
            let got = decimal(&text).expect("parses").expect("not null");
            proptest::prop_assert_eq!(got, want, "{}", text);
        }
    }

    #[test]
    fn scientific_extremes_round_or_fail_clearly() {
        // 6.7E-28 is 0.(27 zeros)67: 29 places, one past what Decimal holds; to the
        // nearest at 28 places that is 0.(27 zeros)7.
        assert_eq!(
            decimal("6.7E-28"),
            Ok(Some(dec("0.0000000000000000000000000007")))
        );
        assert_eq!(
            decimal("2.5E-27"),
            Ok(Some(dec("0.0000000000000000000000000025")))
        );
        assert_eq!(decimal("1E-60"), Ok(Some(Decimal::ZERO)));
        // 8E+28 needs 97 bits.
        assert!(decimal("8E+28").is_err_and(|e| e.contains("out of range")));
        assert_eq!(
            decimal("7E+28"),
            Ok(Some(dec("70000000000000000000000000000")))
        );
    }

    #[test]
    fn errors_name_the_whole_cell() {
        assert_eq!(decimal("zero"), Err("not a number in \"zero\"".to_string()));
        assert!(decimal("1e999").is_err_and(|e| e.contains("1e999")));
    }

    proptest::proptest! {
        /// The fast trim is `str::trim`, Unicode spaces (NBSP, ideographic space) included.
        #[test]
        fn trim_is_str_trim(s in "[ \t\u{a0}\u{3000}\u{feff}a-z0-9.\u{e9}-]{0,8}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }
    }

    proptest::proptest! {
        /// The fast reading of the common time forms agrees with chrono's, form by form,
        /// on valid and invalid fields alike (month 13, 30 February, hour 24, second 60),
        /// and takes every valid time written in a form it claims.
        #[test]
        fn iso_times_read_fast_agree_with_chrono(
            y in 1990u32..2100, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62,
            sec in proptest::option::of(0u32..62), frac in "[0-9]{0,11}",
            sep in proptest::sample::select(vec!["T", " "]),
            zone in proptest::sample::select(vec!["", "Z", "UTC", " UTC", "+00:00", "+01:00", "z"]),
        ) {
            let secs = sec.map(|v| format!(":{v:02}")).unwrap_or_default();
            let fraction = if sec.is_some() && !frac.is_empty() { format!(".{frac}") } else { String::new() };
            let text = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}{secs}{fraction}{zone}");
            let slow = timestamp_by_formats(&text);
            match iso_utc(text.as_bytes()) {
                Some(fast) => proptest::prop_assert_eq!(Ok(Some(fast)), slow, "{}", text),
                None => {
                    let claimed = (["", "Z", "UTC", " UTC"].contains(&zone) || (zone == "+00:00" && sec.is_some()))
                        && sec.is_none_or(|v| v <= 59)
                        && fraction.len() <= 10;
                    proptest::prop_assert!(!(claimed && matches!(slow, Ok(Some(_)))), "{} not read fast", text);
                }
            }
        }

        /// Likewise for the two date forms read fast, against chrono's `%Y-%m-%d` and
        /// `%m/%d/%Y`.
        #[test]
        fn dates_read_fast_agree_with_chrono(y in 1990u32..2100, mo in 0u32..14, d in 0u32..33, iso: bool, pad: bool) {
            let text = if iso {
                format!("{y:04}-{mo:02}-{d:02}")
            } else if pad {
                format!("{mo:02}/{d:02}/{y:04}")
            } else {
                format!("{mo}/{d}/{y:04}")
            };
            let format = if iso { "%Y-%m-%d" } else { "%m/%d/%Y" };
            proptest::prop_assert_eq!(digits_date(text.as_bytes()), NaiveDate::parse_from_str(&text, format).ok(), "{}", text);
        }
    }

    #[test]
    fn nulls_and_garbage() {
        for s in ["", "  ", "NULL", "null", "None"] {
            assert_eq!(decimal(s), Ok(None), "{s:?}");
        }
        for s in ["abc", "1.2.3", "--1", "1e", "e5", "1,5", "NaN", "1 000"] {
            assert!(decimal(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn every_time_form_real_files_use() {
        let want = NaiveDate::from_ymd_opt(2024, 3, 5)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .map(|n| n.and_utc());
        for s in [
            "2024-03-05T10:00:00Z",
            "2024-03-05T10:00:00.000Z",
            "2024-03-05T10:00:00",
            "2024-03-05 10:00:00",
            "2024-03-05 10:00:00 UTC",
            "2024-03-05 10:00:00.000 UTC",
            "2024-03-05T12:00:00+02:00",
            "2024-03-05 10:00:00+00:00",
            "03/05/2024 10:00:00",
        ] {
            assert_eq!(timestamp(s), Ok(want), "{s}");
        }
        let midnight = NaiveDate::from_ymd_opt(2024, 2, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|n| n.and_utc());
        for s in ["02/01/2024", "2/1/2024", "2024-02-01"] {
            assert_eq!(timestamp(s), Ok(midnight), "{s}");
        }
        assert!(timestamp("yesterday").is_err());
    }
}
