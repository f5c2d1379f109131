//! QEMU's event timestamps as wall-clock times.

/// `seconds`.`microseconds` since the epoch as `YYYY-MM-DD HH:MM:SS.uuuuuu` (UTC), or
/// as given when QEMU could not read its clock (it sends -1).
pub fn format_timestamp(seconds: i64, microseconds: i64) -> String {
    if seconds < 0 || !(0..1_000_000).contains(&microseconds) {
        return format!("{seconds}.{microseconds}");
    }
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let secs = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{microseconds:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01 00:00:00.000000");
        assert_eq!(
            format_timestamp(1_795_639_779, 510_055),
            "2026-11-25 20:49:39.510055"
        );
        assert_eq!(
            format_timestamp(951_782_400, 1),
            "2000-02-29 00:00:00.000001"
        );
        assert_eq!(format_timestamp(-1, -1), "-1.-1");
    }
}
