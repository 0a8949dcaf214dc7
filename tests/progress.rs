//! The progress bar on a real terminal: stderr is a pseudo-terminal made
//! here, and what rbag draws on it is read back, like a screen. Off a
//! terminal, `auto` draws nothing.

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Output, Stdio};

use crate::util::rbag;

/// Inputs large enough (about 60 MB in all) that the debug build takes
/// longer than the half second before `auto` shows a bar.
fn big_inputs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let line = "the quick brown fox jumps over the lazy dog and counts\n".repeat(20_000);
    (0..3)
        .map(|i| {
            let path = dir.join(format!("part{i}.txt"));
            let mut file = File::create(&path).unwrap();
            for _ in 0..18 {
                file.write_all(line.as_bytes()).unwrap();
            }
            path
        })
        .collect()
}

/// Run rbag with stderr on a new pseudo-terminal; its stdout, and all it
/// drew on the terminal.
fn on_terminal(args: &[&std::ffi::OsStr], stdin: Option<Vec<u8>>) -> (Output, Vec<u8>) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let size = rustix::termios::Winsize {
        ws_row: 24,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(&master, size).unwrap();
    let slave = File::options()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut child = rbag()
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let feeder = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut master = File::from(master);
    let screen = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let mut buf = [0u8; 4096];
        // The read fails (EIO) once the child, the last holder of the
        // terminal's other end, is gone.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            screen.extend_from_slice(&buf[..n]);
        }
        screen
    });
    let output = child.wait_with_output().unwrap();
    if let Some(feeder) = feeder {
        feeder.join().unwrap();
    }
    (output, screen.join().unwrap())
}

#[test]
fn the_bar_shows_bytes_total_rate_and_eta_on_a_terminal_then_goes() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = big_inputs(dir.path());
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "wordcount".as_ref(),
        "--top".as_ref(),
        "3".as_ref(),
        "-j".as_ref(),
        "1".as_ref(),
    ];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    let (output, screen) = on_terminal(&args, None);
    assert!(output.status.success());
    // stdout holds the result, exactly as without a terminal.
    let plain = rbag().args(&args).output().unwrap();
    assert_eq!(output.stdout, plain.stdout);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "the\t2160000\nand\t1080000\nbrown\t1080000\n"
    );
    let text = String::from_utf8_lossy(&screen);
    // The last drawing of the bar, as the terminal showed it.
    let last = text
        .rsplit('\r')
        .find(|s| s.contains("eta"))
        .unwrap_or_else(|| panic!("no bar drawn: {text:?}"));
    eprintln!(
        "the last bar drawn: {}",
        last.trim_start_matches("\x1b[2K").trim_end()
    );
    assert!(
        last.contains("MiB/") && last.contains("MiB/s") && last.contains("eta "),
        "{last:?}"
    );
    let total: u64 = inputs
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let total = format!("/{} ", indicatif::BinaryBytes(total));
    assert!(
        last.contains(&total),
        "the total {total} is shown: {last:?}"
    );
    // Cleared at the end: the terminal's last bytes erase the line.
    assert!(
        text.trim_end_matches(' ').ends_with("\r\x1b[2K") || text.ends_with("\x1b[2K"),
        "not cleared: {:?}",
        &text[text.len().saturating_sub(80)..]
    );
}

#[test]
fn standard_input_shows_bytes_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = big_inputs(dir.path());
    let data = std::fs::read(&inputs[0]).unwrap().repeat(3);
    let args: Vec<&std::ffi::OsStr> = vec![
        "wordcount".as_ref(),
        "--progress".as_ref(),
        "always".as_ref(),
        "--top".as_ref(),
        "1".as_ref(),
    ];
    let (output, screen) = on_terminal(&args, Some(data));
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&screen);
    assert!(text.contains("MiB/s"), "{text:?}");
    assert!(
        !text.contains("eta"),
        "an unknown size has no time left: {text:?}"
    );
}

#[test]
fn pipes_see_no_bar_and_logs_see_lines() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = big_inputs(dir.path());
    let auto = rbag().arg("wordcount").args(&inputs).output().unwrap();
    assert!(auto.status.success());
    assert_eq!(auto.stderr, b"", "auto drew into a pipe");
    let always = rbag()
        .args(["wordcount", "--progress", "always"])
        .args(&inputs)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&always.stderr);
    assert_eq!(always.stdout, auto.stdout);
    assert!(
        !log.contains('\r') && !log.contains('\x1b'),
        "a log has no terminal codes: {log:?}"
    );
    assert!(
        log.lines().all(|l| l.starts_with("rbag: progress: ")),
        "{log}"
    );
    assert!(
        log.lines()
            .last()
            .unwrap()
            .starts_with("rbag: progress: done, "),
        "{log}"
    );
}
