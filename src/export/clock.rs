//! Times written into outputs: UTC, RFC 3339, to the second
//! (`2026-11-28T15:04:05Z`), so that they sort as text.

use crate::bank::Metadata;
use crate::error::{Error, Result};

/// Seconds since 1970 as an RFC 3339 UTC time; the calendar date comes
/// from [`Metadata::utc_date`], the one civil-date conversion of the crate.
///
/// ```
/// assert_eq!(fangsheng::export::rfc3339(951_827_696), "2000-02-29T12:34:56Z");
/// ```
pub fn rfc3339(secs: u64) -> String {
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        Metadata::utc_date(i64::try_from(secs).unwrap_or(i64::MAX)),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The time to record as "now", in seconds since 1970: `SOURCE_DATE_EPOCH`
/// when set (the reproducible-builds convention, as `calibrate`'s
/// provenance date honours it: the same inputs then give byte-identical
/// files), else the system clock.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when `SOURCE_DATE_EPOCH`
/// is set but is not whole non-negative seconds.
pub fn now_seconds() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse::<u64>().map_err(|_| {
            Error::config(format!(
                "SOURCE_DATE_EPOCH must be whole seconds since 1970, got '{v}'"
            ))
        }),
        Err(_) => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())),
    }
}

/// [`now_seconds`] as an RFC 3339 UTC time ([`rfc3339`]).
///
/// # Errors
/// As [`now_seconds`].
pub fn utc_now() -> Result<String> {
    now_seconds().map(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC is 951827696 s after the epoch.
        assert_eq!(rfc3339(951_827_696), "2000-02-29T12:34:56Z");
        // 2026-11-28 00:00:00 UTC.
        assert_eq!(rfc3339(1_795_824_000), "2026-11-28T00:00:00Z");
        // The last second of a day.
        assert_eq!(rfc3339(86_399), "1970-01-01T23:59:59Z");
    }

    #[test]
    fn now_is_a_time_of_this_century() {
        // The variable may be set by whoever runs the tests: either way the
        // result is a well-formed time, and the system clock is past 2020.
        let now = utc_now().unwrap();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
        if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
            assert!(now.as_str() > "2020-01-01T00:00:00Z", "{now}");
        }
    }
}
