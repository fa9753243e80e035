//! Values with units on the command line: durations (`30`, `0.5`, `500ms`, `2m`, `1m30s`) and byte sizes
//! (`10485760`, `512k`, `10M`, `1.5MiB`), parsed exactly (integer arithmetic, no float rounding for unit forms)
//! and formatted back for `--help` defaults.
//!
//! A bare number keeps the meaning it had before units existed: seconds for a duration (parsed as `f64`, as the
//! flags always were, so `30`, `0.5` and `1e3` still work), bytes for a size (parsed as `u64`).
//!
//! Owns only the syntax; which flags take which unit, and what range a flag allows beyond "representable and
//! positive", is [`crate::cli`]'s business.

use std::time::Duration;

/// Nanoseconds per duration unit. `m` is minutes (sizes have their own table, so there is no clash).
const DURATION_UNITS: [(&str, u128); 4] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Longest duration accepted: 100 years. Far past any useful timeout, and short enough that adding it to "now"
/// cannot overflow a clock (a deadline of `u64::MAX` seconds would panic the runtime).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

const KIB: u64 = 1024;
/// Bytes per size unit, 1024-based as curl's and ripgrep's `--max-filesize` (case-insensitive; `B` or nothing is
/// bytes). `KB`/`MB`/`GB` are refused rather than guessed (1000 or 1024?).
const SIZE_UNITS: [(&str, u64); 7] = [
    ("b", 1),
    ("k", KIB),
    ("kib", KIB),
    ("m", KIB * KIB),
    ("mib", KIB * KIB),
    ("g", KIB * KIB * KIB),
    ("gib", KIB * KIB * KIB),
];

/// Size suffixes whose base is ambiguous (SI 1000 or the JEDEC 1024 many tools use).
const AMBIGUOUS_SIZE_UNITS: [&str; 3] = ["kb", "mb", "gb"];

/// A positive duration: a bare number of seconds (fractions allowed), or one or more `NUMBER UNIT` parts with
/// units `ms`, `s`, `m`, `h` (`1m30s`, `1.5s`). Zero, negative, non-finite, overflowing (> 100 years) and unknown
/// units are errors naming the value.
pub(crate) fn parse_duration(raw: &str) -> Result<Duration, String> {
    let d = duration_or_zero(raw)?;
    if d.is_zero() {
        return Err(format!("{raw:?}: the duration must be more than zero"));
    }
    Ok(d)
}

/// As [`parse_duration`], zero allowed.
fn duration_or_zero(raw: &str) -> Result<Duration, String> {
    let d = if let Ok(secs) = raw.parse::<f64>() {
        // The pre-units syntax, with its exact meaning.
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!(
                "{raw:?} is not a duration (a positive number of seconds, or e.g. 500ms, 2m, 1m30s)"
            ));
        }
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    } else {
        let mut nanos: u128 = 0;
        for (number, unit) in parts(raw)? {
            if unit.is_empty() {
                return Err(format!(
                    "{raw:?}: every number needs a unit (ms, s, m or h), e.g. 1m30s"
                ));
            }
            let per = DURATION_UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, n)| *n)
                .ok_or_else(|| {
                    format!("{raw:?}: unknown duration unit {unit:?} (ms, s, m or h; a bare number is seconds)")
                })?;
            nanos = scaled(number, per)
                .and_then(|n| nanos.checked_add(n))
                .ok_or_else(|| format!("{raw:?} is too long"))?;
        }
        let secs =
            u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| format!("{raw:?} is too long"))?;
        // The remainder is < 10^9, so it fits.
        Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
    };
    if d > MAX_DURATION {
        return Err(format!("{raw:?} is too long (at most 100 years)"));
    }
    Ok(d)
}

/// A duration where `0` means off (`--stats-interval`): as [`parse_duration`], but zero (`0`, `0s` …) is
/// [`Duration::ZERO`].
///
/// # Errors
/// As [`parse_duration`], but for zero.
pub(crate) fn parse_duration_or_off(raw: &str) -> Result<Duration, String> {
    duration_or_zero(raw)
}

/// A byte size: a bare integer of bytes, or a number (fractions allowed, rounded down to a whole byte) with a
/// 1024-based unit: `k`/`KiB`, `M`/`MiB`, `G`/`GiB` (case-insensitive), `B` for bytes.
pub(crate) fn parse_size(raw: &str) -> Result<u64, String> {
    if let Ok(bytes) = raw.parse::<u64>() {
        return Ok(bytes);
    }
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but not a u64: say so, not "a size without a unit" (an attack run's case).
        return Err(format!("{raw:?} is too large (at most {} bytes)", u64::MAX));
    }
    let mut parts = parts(raw)?;
    let (number, unit) = parts.next().unwrap_or(("", ""));
    if number.is_empty() || parts.next().is_some() {
        return Err(format!(
            "{raw:?} is not a size (bytes, or a number with k, M or G, e.g. 512k, 10M, 1.5MiB)"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "{raw:?}: a size without a unit is a whole number of bytes"
        ));
    }
    let lower = unit.to_ascii_lowercase();
    if AMBIGUOUS_SIZE_UNITS.contains(&lower.as_str()) {
        return Err(format!(
            "{raw:?}: {unit} is ambiguous (1000 or 1024?); write {number}{} or {number}{}iB (both 1024-based)",
            &unit[..1],
            &unit[..1].to_ascii_uppercase()
        ));
    }
    let per = SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, n)| u128::from(*n))
        .ok_or_else(|| {
            format!("{raw:?}: unknown size unit {unit:?} (k, M, G, KiB, MiB, GiB or B)")
        })?;
    scaled(number, per)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("{raw:?} is too large (at most {} bytes)", u64::MAX))
}

/// `raw` split into `(NUMBER, UNIT)` parts: NUMBER is `DIGITS[.DIGITS]` (or `.DIGITS`), UNIT the letters after it.
fn parts(raw: &str) -> Result<impl Iterator<Item = (&str, &str)>, String> {
    let bad = || format!("{raw:?} is not a number with a unit (e.g. 500ms, 1m30s, 512k, 10MiB)");
    let mut out = Vec::new();
    let mut rest = raw;
    if rest.is_empty() {
        return Err("an empty value is not a number".to_owned());
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..n_end];
        let after = &rest[n_end..];
        let u_end = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let unit = &after[..u_end];
        let digits = number.replace('.', "");
        if digits.is_empty()
            || number.matches('.').count() > 1
            || (unit.is_empty() && u_end < after.len())
        {
            return Err(bad());
        }
        out.push((number, unit));
        rest = &after[u_end..];
    }
    Ok(out.into_iter())
}

/// `number` (decimal, `DIGITS[.DIGITS]`) times `per`, rounded down; `None` on overflow or a malformed number.
fn scaled(number: &str, per: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut total = int.checked_mul(per)?;
    // Only the fraction digits that can matter: per < 10^16, so 38 digits of 10^k stay in u128.
    let frac = &frac[..frac.len().min(20)];
    if !frac.is_empty() {
        let f: u128 = frac.parse().ok()?;
        let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
        total = total.checked_add(f.checked_mul(per)? / scale)?;
    }
    Some(total)
}

/// The inverse of [`parse_duration`]: `--help` shows the named default constants through it.
/// `d` as the shortest exact unit form `parse_duration` reads back: `30s`, `1m30s`, `500ms`, `1.5s`.
pub(crate) fn format_duration(d: Duration) -> String {
    use std::fmt::Write as _;
    let nanos = d.as_nanos();
    let mut out = String::new();
    let (h, rest) = (nanos / 3_600_000_000_000, nanos % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if rest > 0 || out.is_empty() {
        let (s, sub) = (rest / NANOS_PER_SEC, rest % NANOS_PER_SEC);
        if sub == 0 {
            let _ = write!(out, "{s}s");
        } else if s == 0 && sub % 1_000_000 == 0 {
            let _ = write!(out, "{}ms", sub / 1_000_000);
        } else {
            let frac = format!("{sub:09}");
            let _ = write!(out, "{s}.{}s", frac.trim_end_matches('0'));
        }
    }
    out
}

/// The inverse of [`parse_size`]: `--help` shows the named default constants through it.
/// `bytes` in the largest 1024-based unit that divides it exactly (`10MiB`, `512KiB`), else plain bytes.
pub(crate) fn format_size(bytes: u64) -> String {
    for (unit, per) in [("GiB", KIB * KIB * KIB), ("MiB", KIB * KIB), ("KiB", KIB)] {
        if bytes >= per && bytes.is_multiple_of(per) {
            return format!("{}{unit}", bytes / per);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Duration {
        parse_duration(s).unwrap()
    }

    #[test]
    fn durations_old_and_new() {
        assert_eq!(d("30"), Duration::from_secs(30));
        assert_eq!(d("0.5"), Duration::from_millis(500));
        assert_eq!(d("1e3"), Duration::from_secs(1000));
        assert_eq!(d("5s"), Duration::from_secs(5));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("2m"), Duration::from_secs(120));
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("1h"), Duration::from_secs(3600));
        assert_eq!(d("1.5s"), Duration::from_millis(1500));
        assert_eq!(d(".25s"), Duration::from_millis(250));
        assert_eq!(d("0.1s"), Duration::from_millis(100));
    }

    #[test]
    fn zero_is_off_only_where_allowed() {
        for zero in ["0", "0s", "0ms", "0.0"] {
            assert_eq!(parse_duration_or_off(zero), Ok(Duration::ZERO), "{zero}");
            assert!(parse_duration(zero).is_err(), "{zero}");
        }
        assert_eq!(
            parse_duration_or_off("200ms"),
            Ok(Duration::from_millis(200))
        );
        assert!(parse_duration_or_off("-1").is_err());
    }

    #[test]
    fn bad_durations_name_the_value() {
        for bad in [
            "",
            "0",
            "0s",
            "-1",
            "-1s",
            "nan",
            "inf",
            "-inf",
            "5x",
            "5 s",
            " 5",
            "s",
            "5S",
            "1..5s",
            "1e400",
            "99999999999999999999999h",
            "200000000000",
            "1ns",
            "5sec",
            "1m-30s",
            ".",
            ".s",
        ] {
            let e = parse_duration(bad).expect_err(bad);
            assert!(
                e.contains(&format!("{bad:?}")) || bad.is_empty(),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn sizes_old_and_new() {
        let s = |v: &str| parse_size(v).unwrap();
        assert_eq!(s("10485760"), 10 * 1024 * 1024);
        assert_eq!(s("0"), 0);
        assert_eq!(s("512k"), 512 * 1024);
        assert_eq!(s("512K"), 512 * 1024);
        assert_eq!(s("10M"), 10 * 1024 * 1024);
        assert_eq!(s("10MiB"), 10 * 1024 * 1024);
        assert_eq!(s("10mib"), 10 * 1024 * 1024);
        assert_eq!(s("1.5MiB"), 1_572_864);
        assert_eq!(s("1G"), 1 << 30);
        assert_eq!(s("100B"), 100);
        assert_eq!(s("0.3k"), 307, "fractions round down");
    }

    #[test]
    fn bad_sizes_name_the_value() {
        for bad in [
            "",
            "-1",
            "-1k",
            "nan",
            "inf",
            "1.5",
            "10MB",
            "10kb",
            "10GB",
            "10X",
            "10 M",
            "1M1k",
            "k",
            "18446744073709551616",
            "17179869184G",
            "1e3",
        ] {
            let e = parse_size(bad).expect_err(bad);
            assert!(
                e.contains(&format!("{bad:?}")) || bad.is_empty(),
                "{bad}: {e}"
            );
        }
        assert!(parse_size("10MB").unwrap_err().contains("10M or 10MiB"));
        assert!(parse_size("18446744073709551616")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_size(10 * 1024 * 1024), "10MiB");
        assert_eq!(format_size(1000), "1000");
    }

    proptest! {
        #[test]
        fn durations_round_trip(nanos in 1u64..=MAX_DURATION.as_nanos() as u64) {
            let v = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(v)), Ok(v));
        }

        #[test]
        fn sizes_round_trip(bytes in any::<u64>(), shift in prop::sample::select(vec![0u32, 10, 20, 30])) {
            // Multiples of 1024^k too, so every unit form is formatted and read back.
            let v = bytes >> shift << shift;
            prop_assert_eq!(parse_size(&format_size(v)), Ok(v));
        }

        #[test]
        fn parsers_never_panic(s in "[0-9.a-zA-Z-]{0,24}") {
            let _ = parse_duration(&s);
            let _ = parse_size(&s);
        }
    }
}
