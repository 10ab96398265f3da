//! The HTML report rendered by headless Chromium (Debian's `chromium`
//! package): it must load with exit status 0, log no console message (the
//! page has no scripts, so any message — "Uncaught ..." above all — is a
//! fault), and give a screenshot that is a real, non-blank PNG.
//!
//! Criterion for "non-blank": the PNG's header is valid with the window's
//! size (1200 x 2000), and the file is over four times the size of a
//! screenshot of a near-empty page taken the same way (plots and text
//! compress far worse than white space). The near-empty page also logs two
//! console messages and an uncaught error on purpose, which proves the
//! console check sees them. Without /usr/bin/chromium the test fails and
//! names the package to install.

#[path = "report_support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use support::{demo_inputs, p};

const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 2000;

/// What a headless screenshot run gave.
struct Shot {
    png: Vec<u8>,
    console: Vec<String>,
}

/// Screenshots `page` at WIDTH x HEIGHT with a fresh profile in `dir`.
fn screenshot(page: &Path, dir: &Path, name: &str) -> Shot {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} not found: install Debian's chromium package \
         (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)"
    );
    let profile = dir.join(format!("profile-{name}"));
    let shot = dir.join(format!("{name}.png"));
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", p(&profile)),
            "--enable-logging=stderr",
            "--v=0",
            &format!("--screenshot={}", p(&shot)),
            &format!("--window-size={WIDTH},{HEIGHT}"),
            &format!("file://{}", p(page)),
        ])
        .output()
        .expect("run chromium");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "chromium exited with {} on {}:\n{err}",
        out.status,
        page.display()
    );
    // Chromium logs every page console message as
    // `[pid:tid:time:INFO:CONSOLE:line] "message", source: url (line)`
    // (older builds: `INFO:CONSOLE(line)`); D-Bus and sandbox warnings of a
    // headless container are not the page's and are ignored.
    let console = err
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot {}: {e}", shot.display()));
    Shot { png, console }
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 33, "PNG of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "first chunk is not IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn report_renders_in_headless_chromium_without_console_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = d.join("report.html");
    support::demo_report(&demo_inputs(d), &report);

    // The control: a near-empty page that logs to the console on purpose.
    let control = d.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('control-error'); \
         console.log('control-log'); notDefined();</script></body></html>",
    )
    .unwrap();
    let blank = screenshot(&control, d, "control");
    let seen = blank.console.join("\n");
    assert!(
        seen.contains("control-error") && seen.contains("Uncaught"),
        "the console check does not see the control page's messages:\n{seen}"
    );
    assert_eq!(png_size(&blank.png), (WIDTH, HEIGHT));

    let shot = screenshot(&report, d, "report");
    assert!(
        shot.console.is_empty(),
        "console messages while rendering the report:\n{}",
        shot.console.join("\n")
    );
    assert_eq!(png_size(&shot.png), (WIDTH, HEIGHT));
    assert!(
        shot.png.len() > 4 * blank.png.len(),
        "the screenshot looks blank: {} bytes against {} for a near-empty page",
        shot.png.len(),
        blank.png.len()
    );
    // Keep a copy for people to look at when asked to.
    if let Some(keep) = std::env::var_os("FANGSHENG_REPORT_SHOT") {
        std::fs::write(keep, &shot.png).unwrap();
    }
}
