//! The hostile-input table: files and situations a real user meets that a
//! happy-path test never does. Each case builds its inputs in a fresh
//! directory, runs rbag there, and asserts the exact output, message and
//! exit status. Cases that need a shell (closed descriptors, `ulimit`) run
//! through `sh -c`; none touches anything outside its directory (device
//! nodes are made with `mknod` inside it).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use flate2::write::GzEncoder;

use crate::util::mknod;

const RBAG: &str = env!("CARGO_BIN_EXE_rbag");

/// What a case checks in one stream.
enum Expect {
    Exactly(&'static [u8]),
    StartsWith(&'static str),
}

impl Expect {
    fn check(&self, got: &[u8]) -> bool {
        match self {
            Expect::Exactly(want) => got == *want,
            Expect::StartsWith(want) => got.starts_with(want.as_bytes()),
        }
    }

    fn show(&self) -> String {
        match self {
            Expect::Exactly(want) => format!("exactly {:?}", String::from_utf8_lossy(want)),
            Expect::StartsWith(want) => format!("starting with {want:?}"),
        }
    }
}

/// How a case runs.
enum How {
    /// rbag with these arguments, this stdin.
    Args(&'static [&'static str], &'static [u8]),
    /// A shell command line, `rbag` being the binary (for redirections).
    Shell(&'static str),
}

struct Case {
    name: &'static str,
    setup: fn(&Path),
    how: How,
    code: i32,
    stdout: Expect,
    stderr: Expect,
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const WORDS: &[u8] = b"the cat and the hat\n";

/// A partial of `run --jsonl PIPELINE` with these rows, as a forger
/// would write it: a true header and `end` line around rows of their own.
fn forged(dir: &Path, name: &str, pipeline: &str, rows: &[&str]) {
    let header = format!(
        "rbag-partial\t1\t{{\"cut\":null,\"input\":\"json\",\"pipeline\":\"{pipeline}\",\"plan\":\"run --jsonl '{pipeline}'\",\"terminator\":\"\\n\"}}\n"
    );
    let body: String = rows.iter().map(|r| format!("{r}\n")).collect();
    write(
        dir,
        name,
        format!("{header}{body}end\t{}\n", rows.len()).as_bytes(),
    );
}

fn nothing(_: &Path) {}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "empty file",
            setup: |d| write(d, "in.txt", b""),
            how: How::Args(&["wordcount", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "no final newline",
            setup: |d| write(d, "in.txt", b"a b\nb"),
            how: How::Args(&["wordcount", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"b\t2\na\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "CRLF lines are lines",
            setup: |d| write(d, "in.txt", b"x\r\ny\r\nx\r\n"),
            how: How::Args(&["freq", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"x\t2\ny\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a lone CR stays in its record, escaped",
            setup: |d| write(d, "in.txt", b"a\rb\n"),
            how: How::Args(&["freq", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"a\\rb\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "NUL bytes are kept",
            setup: |d| write(d, "in.txt", b"a\0b\na\0b\n"),
            how: How::Args(&["freq", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"a\0b\t2\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a byte order mark starts no record",
            setup: |d| write(d, "in.txt", b"\xef\xbb\xbfx\nx\n"),
            how: How::Args(&["freq", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"x\t2\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a byte order mark before JSON lines",
            setup: |d| write(d, "in.jsonl", b"\xef\xbb\xbf{\"a\": 1}\n{\"a\": 2}\n"),
            how: How::Args(&["run", "pluck .a | sum", "in.jsonl"], b""),
            code: 0,
            stdout: Expect::Exactly(b"3\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "invalid UTF-8 kept in TSV and CSV",
            setup: |d| write(d, "in.txt", b"caf\xe9\n"),
            how: How::Shell("rbag wordcount in.txt && rbag wordcount --format csv in.txt"),
            code: 0,
            stdout: Expect::Exactly(b"caf\xe9\t1\nkey,count\ncaf\xe9,1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "invalid UTF-8 replaced in JSON output",
            setup: |d| write(d, "in.txt", b"caf\xe9\n"),
            how: How::Shell("rbag wordcount --format jsonl in.txt && rbag wordcount --format json in.txt"),
            code: 0,
            stdout: Expect::Exactly("{\"key\":\"caf\u{fffd}\",\"count\":1}\n[\n{\"key\":\"caf\u{fffd}\",\"count\":1}\n]\n".as_bytes()),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "strict UTF-8 names the byte",
            setup: |d| write(d, "in.txt", b"ok\nab\xe9\n"),
            how: How::Args(&["wordcount", "--strict-utf8", "in.txt"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.txt:2:3: invalid UTF-8 (byte offset 5; drop --strict-utf8 to keep such bytes as they are)\n"),
        },
        Case {
            name: "100 000 tiny files through a quoted glob",
            setup: |d| {
                std::fs::create_dir(d.join("many")).unwrap();
                for i in 0..100_000 {
                    write(&d.join("many"), &format!("{i:06}.txt"), b"x\n");
                }
            },
            how: How::Args(&["wordcount", "many/*.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"x\t100000\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a 300 MB line within about its own size of memory",
            setup: |d| {
                let mut file = std::fs::File::create(d.join("line.txt")).unwrap();
                let chunk = b"word ".repeat(1 << 20);
                for _ in 0..60 {
                    file.write_all(&chunk).unwrap();
                }
                file.write_all(b"\n").unwrap();
            },
            // Peak resident memory, in KB, as the kernel counted it.
            how: How::Shell(
                "python3 -c 'import resource, subprocess, sys; subprocess.run([\"rbag\", \"run\", \"count\", \"line.txt\"], check=True); rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; print(\"within\" if rss < 420_000 else rss)'",
            ),
            code: 0,
            stdout: Expect::Exactly(b"1\nwithin\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a flatten streams its items: 6 M words of one line",
            setup: |d| {
                let line = [b"word ".repeat(6 << 20), b"\n".to_vec()].concat();
                write(d, "line.txt", &line);
            },
            // A list of 6 M words would not fit beside the 30 MB line.
            how: How::Shell("ulimit -v 150000 && rbag run -j1 'words | count' line.txt"),
            code: 0,
            stdout: Expect::Exactly(b"6291456\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a record too large for memory is an error, not an abort",
            setup: nothing,
            how: How::Shell("ulimit -v 300000 && head -c 500000000 /dev/zero | rbag run count"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::StartsWith("rbag: <stdin>:1:1: a record of more than "),
        },
        Case {
            name: "deep nesting has one limit for every pipeline",
            setup: |d| {
                let deep = format!("{{\"a\": 1, \"b\": {}{}}}\n", "[".repeat(300), "]".repeat(300));
                write(d, "in.jsonl", deep.as_bytes());
            },
            how: How::Shell("rbag run count in.jsonl; rbag run 'pluck .a' in.jsonl"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.jsonl:1:270: invalid JSON: nested deeper than 256 levels\nrbag: in.jsonl:1:270: invalid JSON: nested deeper than 256 levels\n"),
        },
        Case {
            name: "duplicate keys: the last one wins",
            setup: |d| write(d, "in.jsonl", b"{\"a\": 1, \"a\": 2}\n"),
            how: How::Args(&["run", "pluck .a", "in.jsonl"], b""),
            code: 0,
            stdout: Expect::Exactly(b"2\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "big integers are distinct keys",
            setup: |d| write(d, "in.jsonl", b"{\"id\": 123456789012345678901234567890}\n{\"id\": 123456789012345678901234567891}\n{\"id\": 123456789012345678901234567892}\n"),
            how: How::Args(&["freq", "--field", ".id", "in.jsonl"], b""),
            code: 0,
            stdout: Expect::Exactly(b"123456789012345678901234567890\t1\n123456789012345678901234567891\t1\n123456789012345678901234567892\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "comparisons of big integers are exact",
            setup: |d| write(d, "in.jsonl", b"{\"n\": 18446744073709551616}\n{\"n\": 18446744073709551617}\n"),
            how: How::Args(&["run", "filter .n == 18446744073709551616 | pluck .n", "in.jsonl"], b""),
            code: 0,
            stdout: Expect::Exactly(b"18446744073709551616\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "integer sums past 2^64 are exact",
            setup: |d| write(d, "in.jsonl", b"{\"n\": 18446744073709551615}\n{\"n\": 18446744073709551615}\n{\"n\": 1}\n"),
            how: How::Args(&["run", "pluck .n | sum", "in.jsonl"], b""),
            code: 0,
            stdout: Expect::Exactly(b"36893488147419103231\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "floats print exactly as they were read",
            setup: |d| write(d, "in.jsonl", b"{\"x\": 0.12122899456902703}\n{\"x\": 5e-324}\n{\"x\": 1.7976931348623157e308}\n"),
            how: How::Args(&["run", "pluck .x", "in.jsonl"], b""),
            code: 0,
            stdout: Expect::Exactly(b"0.12122899456902703\n5e-324\n1.7976931348623157e308\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "1e400 is the same error whatever the pipeline",
            setup: |d| write(d, "in.jsonl", b"{\"a\": 1e400, \"b\": 1}\n"),
            how: How::Shell("rbag run count in.jsonl; rbag run 'pluck .b' in.jsonl"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.jsonl:1:7: invalid JSON: number out of range (beyond \xc2\xb11.8e308)\nrbag: in.jsonl:1:7: invalid JSON: number out of range (beyond \xc2\xb11.8e308)\n"),
        },
        Case {
            name: "a closed standard output is an error",
            setup: |d| write(d, "in.txt", WORDS),
            how: How::Shell("rbag wordcount in.txt >&-"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: stdout: standard output is closed (>&-?), so the result would be lost\n"),
        },
        Case {
            name: "a closed standard input is an error",
            setup: nothing,
            how: How::Shell("rbag run count - <&-"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: <stdin>: standard input is closed (<&-?), so there is nothing to read\n"),
        },
        Case {
            name: "a FIFO named as a file is read once",
            setup: |d| mknod(&d.join("fifo"), rustix::fs::FileType::Fifo, 0),
            how: How::Shell("printf 'a b a\\n' > fifo & rbag wordcount fifo"),
            code: 0,
            stdout: Expect::Exactly(b"a\t2\nb\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "/dev/stdin and process substitution",
            setup: nothing,
            how: How::Shell("printf 'x\\n' | rbag wordcount /dev/stdin; bash -c \"$RBAG wordcount <(printf 'y\\n')\""),
            code: 0,
            stdout: Expect::Exactly(b"x\t1\ny\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "-o through a symlink replaces the target and keeps the link",
            setup: |d| {
                write(d, "in.txt", WORDS);
                write(d, "real.tsv", b"old\n");
                std::os::unix::fs::symlink("real.tsv", d.join("link.tsv")).unwrap();
            },
            how: How::Shell("rbag wordcount in.txt -o link.tsv && test -L link.tsv && cat real.tsv"),
            code: 0,
            stdout: Expect::Exactly(b"the\t2\nand\t1\ncat\t1\nhat\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "-o writes through a FIFO",
            setup: |d| {
                write(d, "in.txt", WORDS);
                mknod(&d.join("out.fifo"), rustix::fs::FileType::Fifo, 0);
            },
            how: How::Shell("cat out.fifo & rbag wordcount in.txt --top 1 -o out.fifo; wait; test -p out.fifo && echo still-a-fifo"),
            code: 0,
            stdout: Expect::Exactly(b"the\t2\nstill-a-fifo\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "-o onto a device writes through and leaves the device",
            setup: |d| {
                write(d, "in.txt", WORDS);
                // A null device of our own, never the real /dev/null.
                mknod(&d.join("null"), rustix::fs::FileType::CharacterDevice, rustix::fs::makedev(1, 3));
            },
            how: How::Shell("rbag wordcount in.txt -o null && test -c null && echo still-a-device"),
            code: 0,
            stdout: Expect::Exactly(b"still-a-device\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "-o keeps a file's mode",
            setup: |d| {
                write(d, "in.txt", WORDS);
                write(d, "out.tsv", b"old\n");
                std::fs::set_permissions(d.join("out.tsv"), std::fs::Permissions::from_mode(0o600)).unwrap();
            },
            how: How::Shell("rbag wordcount in.txt -o out.tsv && stat -c %a out.tsv"),
            code: 0,
            stdout: Expect::Exactly(b"600\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "-o onto a directory is refused",
            setup: |d| std::fs::create_dir(d.join("dir")).unwrap(),
            how: How::Args(&["wordcount", "-o", "dir"], b"x\n"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::StartsWith("rbag: dir: is a directory"),
        },
        Case {
            name: "-o and --rejects naming one file is a usage error",
            setup: |d| write(d, "in.jsonl", b"{}\n"),
            how: How::Args(&["run", "count", "in.jsonl", "--skip-bad-lines", "-o", "x", "--rejects", "./x"], b""),
            code: 2,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: -o and --rejects name the same file; give them different files\n"),
        },
        Case {
            name: "--rejects with no bad line leaves an empty file",
            setup: |d| {
                write(d, "in.jsonl", b"{}\n");
                write(d, "rejects.txt", b"stale\n");
            },
            how: How::Shell("rbag run count in.jsonl --skip-bad-lines --rejects rejects.txt && wc -c < rejects.txt"),
            code: 0,
            stdout: Expect::Exactly(b"1\n0\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a glob matches names that are not UTF-8 and prints them escaped",
            setup: |d| {
                std::fs::create_dir(d.join("g")).unwrap();
                write(&d.join("g"), "a.txt", b"x\n");
                let odd = std::ffi::OsStr::from_bytes(b"\xff\nb.txt");
                std::fs::write(d.join("g").join(odd), b"x\n").unwrap();
                std::fs::write(d.join("g").join(std::ffi::OsStr::from_bytes(b"c\xfe.txt")), b"\xff").unwrap();
            },
            how: How::Shell("rbag wordcount 'g/*.txt' && rbag wordcount --strict-utf8 'g/*.txt'"),
            code: 1,
            stdout: Expect::Exactly(b"x\t2\n\xff\t1\n"),
            stderr: Expect::Exactly(b"rbag: g/c\\xfe.txt:1:1: invalid UTF-8 (byte offset 0; drop --strict-utf8 to keep such bytes as they are)\n"),
        },
        Case {
            name: "a glob that starts with a dot matches dotfiles",
            setup: |d| {
                write(d, ".hidden.txt", b"h\n");
                write(d, "seen.txt", b"s\n");
            },
            how: How::Shell("rbag wordcount '*.txt' && rbag wordcount '.*.txt'"),
            code: 0,
            stdout: Expect::Exactly(b"s\t1\nh\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "stopwords with a BOM and trailing spaces apply",
            setup: |d| {
                write(d, "in.txt", WORDS);
                write(d, "stop.txt", b"\xef\xbb\xbfthe  \r\nand\t\n");
            },
            how: How::Args(&["wordcount", "--stopwords", "stop.txt", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"cat\t1\nhat\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "compressed files count as the plain file",
            setup: |d| {
                write(d, "in.txt", WORDS);
                write(d, "in.txt.gz", &gzip(WORDS));
                write(d, "two.gz", &[gzip(b"x y\n"), gzip(b"x\n")].concat());
                write(d, "in.zst", &zstd::encode_all(WORDS, 3).unwrap());
            },
            how: How::Shell("rbag wordcount in.txt.gz --top 1 && cat in.txt.gz | rbag wordcount --top 1 && rbag wordcount in.zst --top 1 && rbag wordcount two.gz"),
            code: 0,
            stdout: Expect::Exactly(b"the\t2\nthe\t2\nthe\t2\nx\t2\ny\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a truncated archive fails with its offset and prints nothing",
            setup: |d| {
                let data: Vec<u8> = (0..20_000).flat_map(|i| format!("w{i} ").into_bytes()).collect();
                let gz = gzip(&data);
                write(d, "cut.gz", &gz[..gz.len() / 2]);
            },
            how: How::Args(&["wordcount", "cut.gz"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::StartsWith("rbag: cut.gz: corrupt or truncated gzip data (at compressed byte "),
        },
        Case {
            name: "a plain file named .gz fails at its first byte, not where reading had got to",
            setup: |d| write(d, "plain.gz", &(0..100_000).flat_map(|i| format!("{i}\n").into_bytes()).collect::<Vec<u8>>()),
            how: How::Args(&["wordcount", "plain.gz"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: plain.gz: corrupt or truncated gzip data (at compressed byte 0): it does not start as gzip data does (is it compressed at all? --decompress never reads it as it is)\n"),
        },
        Case {
            name: "gzip data padded with zero bytes reads as gzip -d reads it",
            setup: |d| write(d, "padded.gz", &[gzip(b"x y\n"), gzip(b"x\n"), vec![0; 3000]].concat()),
            how: How::Args(&["wordcount", "padded.gz"], b""),
            code: 0,
            stdout: Expect::Exactly(b"x\t2\ny\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a corrupt member says the byte where the decoder stopped",
            setup: |d| write(d, "bad.gz", &[gzip(b"x y\n"), vec![0; 10], b"junk".to_vec()].concat()),
            how: How::Args(&["wordcount", "bad.gz"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: bad.gz: corrupt or truncated gzip data (at compressed byte 34): data after the zero bytes that pad the end of the gzip data\n"),
        },
        Case {
            name: "a compressed partial is decompressed by its magic bytes",
            setup: |d| write(d, "in.txt", b"a b\nb\n"),
            how: How::Shell("rbag wordcount --partial in.txt | gzip > a.partial.gz && rbag wordcount --partial in.txt | gzip > b.p && rbag merge a.partial.gz b.p"),
            code: 0,
            stdout: Expect::Exactly(b"b\t4\na\t2\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a partial converted to CRLF is named so",
            setup: |d| write(d, "in.txt", b"a b\n"),
            how: How::Shell("rbag wordcount --partial in.txt | sed 's/$/\\r/' > crlf.p; rbag merge crlf.p"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: crlf.p:1: the partial's lines end in \\r\\n (CRLF), and rbag writes \\n: was it converted on the way (by git's autocrlf, or an editor)? Convert it back (dos2unix) and merge again\n"),
        },
        Case {
            name: "-o and --expect onto a directory say what they name",
            setup: |d| std::fs::create_dir(d.join("dir")).unwrap(),
            how: How::Shell("echo a | rbag wordcount -o dir; echo a | rbag wordcount --expect dir; echo a | rbag run --skip-bad-lines --rejects dir count"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: dir: is a directory, and -o names the file to write (a path to a file in it, say)\nrbag: dir: is a directory, and --expect names the golden file to compare with\nrbag: dir: is a directory, and --rejects names the file to write (a path to a file in it, say)\n"),
        },
        Case {
            name: "-o into a directory that cannot be written blames the directory",
            setup: |d| {
                // The case runs as nobody (when root) to meet permissions.
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
                std::fs::create_dir(d.join("ro")).unwrap();
                std::fs::set_permissions(d.join("ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
                write(d, "in.txt", b"a\n");
            },
            how: How::Shell("if [ $(id -u) = 0 ]; then as='setpriv --reuid=65534 --regid=65534 --clear-groups'; fi; $as \"$RBAG\" wordcount in.txt -o ro/out.tsv"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: ro: cannot create out.tsv in this directory: permission denied\n"),
        },
        Case {
            name: "--decompress never counts the raw bytes",
            setup: |d| write(d, "in.txt.gz", &gzip(WORDS)),
            how: How::Shell("rbag wordcount --decompress never --split whitespace in.txt.gz | grep -c the"),
            code: 1,
            stdout: Expect::Exactly(b"0\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "streaming stops at a bad line after the records before it",
            setup: |d| write(d, "in.jsonl", b"{\"a\": 1}\n{\"a\": 2}\n{\"a\": }\n{\"a\": 4}\n"),
            how: How::Args(&["run", "pluck .a", "in.jsonl"], b""),
            code: 1,
            stdout: Expect::Exactly(b"1\n2\n"),
            stderr: Expect::Exactly(b"rbag: in.jsonl:3:7: invalid JSON: expected a value, found '}'\n"),
        },
        Case {
            name: "a record with a line break stays one line",
            setup: |d| write(d, "in.jsonl", b"{\"s\": \"two\\nlines\"}\n"),
            how: How::Shell("rbag run 'pluck .s' in.jsonl && rbag run 'pluck .s' --format csv in.jsonl"),
            code: 0,
            stdout: Expect::Exactly(b"two\\nlines\n\"two\nlines\"\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "topk and max rank by one order of values",
            setup: |d| write(d, "in.jsonl", b"{\"n\": 100}\n{\"n\": \"99\"}\n"),
            how: How::Shell("rbag run 'topk 1 by .n | pluck .n' in.jsonl && rbag run 'pluck .n | max' in.jsonl"),
            code: 0,
            stdout: Expect::Exactly(b"99\n99\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "messages show null as null",
            setup: |d| write(d, "in.jsonl", b"{\"n\": null}\n"),
            how: How::Args(&["run", "pluck .n | sum", "in.jsonl"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.jsonl:1:1: sum: not a number: null\n"),
        },
        Case {
            name: "parse errors name what they found",
            setup: nothing,
            how: How::Args(&["run", "--jsonl", "pluck .lang .x"], b""),
            code: 2,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: pipeline: 1:13: unexpected path .x after 'pluck' (stages are separated by '|')\n"),
        },
        Case {
            name: "many threads on a tiny file",
            setup: |d| write(d, "in.txt", b"one line\n"),
            how: How::Args(&["wordcount", "-j", "1000", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"line\t1\none\t1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "an endless stream stops when its reader does",
            setup: nothing,
            how: How::Shell("yes '{\"a\":1}' | rbag run --jsonl 'pluck .a' | head -1"),
            code: 0,
            stdout: Expect::Exactly(b"1\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "SIGTERM and SIGHUP leave no temporary file",
            setup: nothing,
            how: How::Shell(
                "for sig in TERM HUP; do yes x | rbag wordcount -o out.tsv & sleep 0.3; kill -$sig $!; wait $!; echo $?; done; ls -A",
            ),
            code: 0,
            stdout: Expect::Exactly(b"143\n129\n"),
            stderr: Expect::Exactly(b""),
        },
        // `pipe` commands: once per block of records, never on an empty
        // window, ended with their children when rbag or their block ends.
        Case {
            name: "pipe runs its command once per block of records, never on an empty one",
            setup: |d| write(d, "six.txt", b"1\n2\n3\n4\n5\n6\n"),
            how: How::Shell("rbag run --blocksize 1 -j 6 'pipe \"echo x >> ran; cat\" | count' six.txt; wc -l < ran"),
            code: 0,
            stdout: Expect::Exactly(b"6\n6\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "pipe under -0 passes NUL-terminated records, newlines and all",
            setup: nothing,
            how: How::Shell("printf 'a\\nb\\0c\\0' | rbag run -0 'pipe \"sort -z -r\"' | od -An -c"),
            code: 0,
            stdout: Expect::Exactly(b"   c  \\0   a  \\n   b  \\0\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a command printing without end stops once its records are not wanted",
            setup: |d| write(d, "in.txt", b"a\n"),
            how: How::Shell("timeout 20 rbag run 'pipe \"yes\"' in.txt | head -1; timeout 20 rbag run 'pipe \"yes\" | take 2' in.txt; echo $?"),
            code: 0,
            stdout: Expect::Exactly(b"y\ny\ny\n0\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "take stops a command at its last record, not at the one after",
            setup: |d| write(d, "in.txt", b"a\n"),
            how: How::Shell("timeout 20 rbag run 'pipe \"echo a; sleep 100\" | take 1' in.txt; echo $?"),
            code: 0,
            stdout: Expect::Exactly(b"a\n0\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a command that ignores SIGTERM is killed when its block is not wanted",
            setup: |d| {
                write(d, "two.txt", b"1\n2\n");
                write(d, "cmd.sh", b"read x\nif [ $x = 1 ]; then until [ -e started ]; do sleep 0.01; done; exit 7; fi\ntrap '' TERM\ntouch started\nsleep 4\ntouch late\n");
            },
            how: How::Shell("timeout 30 rbag run --blocksize 1 -j 2 'pipe \"sh ./cmd.sh\"' two.txt; echo $?; sleep 4.5; ls"),
            code: 0,
            stdout: Expect::Exactly(b"1\ncmd.sh\nstarted\ntwo.txt\n"),
            stderr: Expect::Exactly(b"rbag: two.txt:1-1: pipe \"sh ./cmd.sh\" exited with status 7\n"),
        },
        Case {
            name: "SIGTERM to rbag ends a command that ignores it too",
            setup: |d| {
                write(d, "in.txt", b"a\n");
                write(d, "cmd.sh", b"trap '' TERM INT HUP\necho $$ > pid\nsleep 4\ntouch late\n");
            },
            how: How::Shell("rbag run 'pipe \"sh ./cmd.sh\"' in.txt & until [ -s pid ]; do sleep 0.01; done; kill $!; wait $!; echo $?; sleep 4.5; ls"),
            code: 0,
            stdout: Expect::Exactly(b"143\ncmd.sh\nin.txt\npid\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "what a command leaves running ends with it",
            setup: |d| {
                write(d, "in.txt", b"a\n");
                write(d, "cmd.sh", b"(sleep 3; touch late) >/dev/null 2>&1 &\necho started\n");
            },
            how: How::Shell("rbag run 'pipe \"sh ./cmd.sh\"' in.txt; echo $?; sleep 3.5; ls"),
            code: 0,
            stdout: Expect::Exactly(b"started\n0\ncmd.sh\nin.txt\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a partial whose last newline was cut says so",
            setup: |d| write(d, "in.txt", b"a b\n"),
            how: How::Shell("rbag wordcount --partial in.txt | head -c -1 > cut.p; rbag merge cut.p"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: cut.p:4: the partial's last line has no newline, and rbag ends it with one (was it cut short or edited?)\n"),
        },
        Case {
            name: "SIGTERM ends pipe's commands and their children",
            setup: |d| write(d, "in.txt", b"a\n"),
            how: How::Shell(
                "rbag run 'pipe \"sleep 1000 & echo $! > pid; wait\"' in.txt & \
                 while [ ! -s pid ]; do sleep 0.01; done; kill $!; wait $!; echo $?; \
                 for i in $(seq 200); do s=$(cut -d' ' -f3 /proc/$(cat pid)/stat 2>/dev/null); \
                 if [ -z \"$s\" ] || [ \"$s\" = Z ]; then echo ended; break; fi; sleep 0.01; done",
            ),
            code: 0,
            stdout: Expect::Exactly(b"143\nended\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a failing block ends the commands of the blocks after it",
            setup: |d| write(d, "two.txt", b"1\n2\n"),
            how: How::Shell(
                "rbag run --blocksize 1 -j 2 'pipe \"read x; if [ $x = 1 ]; then until [ -e started ]; do sleep 0.01; done; exit 3; fi; touch started; sleep 3; touch late\"' two.txt; echo $?; ls",
            ),
            code: 0,
            stdout: Expect::Exactly(b"1\nstarted\ntwo.txt\n"),
            stderr: Expect::Exactly(b"rbag: two.txt:1-1: pipe \"read x; if [ $x = 1 ]; then until [ -e started ]; do sleep 0.01; done; exit 3; fi; touch started; sleep 3; touch late\" exited with status 3\n"),
        },
        Case {
            name: "SIGKILL leaves no temporary file and the old output whole",
            setup: |d| write(d, "out.tsv", b"old\n"),
            how: How::Shell(
                "yes x | rbag wordcount -o out.tsv & sleep 0.3; kill -KILL $!; { wait $!; } 2>/dev/null; echo $?; ls -A; cat out.tsv",
            ),
            code: 0,
            stdout: Expect::Exactly(b"137\nout.tsv\nold\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "running out of memory is an error, not an abort",
            setup: |d| write(d, "in.txt", b"a\n"),
            how: How::Shell(
                "ulimit -v 400000; rbag run 'pipe \"head -c 1000000000 /dev/zero\" | count' in.txt",
            ),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::StartsWith("rbag: out of memory: "),
        },
        Case {
            name: "--expect - with standard input closed is not an empty golden file",
            setup: |d| write(d, "in.txt", b"a\n"),
            how: How::Shell("rbag wordcount in.txt --expect - <&-"),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::StartsWith("rbag: <stdin>: standard input is closed"),
        },
        Case {
            name: "a missing file",
            setup: nothing,
            how: How::Args(&["wordcount", "nope.txt"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: nope.txt: no such file or directory\n"),
        },
        // A file that changes while it is read gives a count of neither
        // its old nor its new content: the run fails, naming it. The
        // `pipe` command of the first block changes the file, so the
        // change always comes while the run reads it.
        Case {
            name: "a file that shrinks while it is read",
            setup: |d| write(d, "in.txt", &(1..=20).map(|i| format!("{i}\n")).collect::<String>().into_bytes()),
            how: How::Args(&["run", "-j1", "--blocksize", "10", "pipe \"truncate -s 15 in.txt; cat\" | count", "in.txt"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.txt: it changed while rbag read it: it ends at byte 15, and the run planned to read up to byte 20; no result is given for a file in the middle of a change\n"),
        },
        Case {
            name: "a file that shrinks while a byte range of it is read into a partial",
            setup: |d| write(d, "in.txt", &(1..=20).map(|i| format!("{i}\n")).collect::<String>().into_bytes()),
            how: How::Shell("rbag run -j1 --blocksize 10 --byte-range 0: --partial -o out.p 'pipe \"truncate -s 15 in.txt; cat\" | count' in.txt; echo $?; ls"),
            code: 0,
            stdout: Expect::Exactly(b"1\nin.txt\n"),
            stderr: Expect::StartsWith("rbag: in.txt: it changed while rbag read it: it ends at byte 15"),
        },
        Case {
            name: "a file read twice in one run has not changed",
            setup: |d| write(d, "in.txt", b"a\nb\n"),
            how: How::Args(&["wordcount", "-j2", "--blocksize", "1", "in.txt", "in.txt"], b""),
            code: 0,
            stdout: Expect::Exactly(b"a\t2\nb\t2\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a file appended to while it is read",
            setup: |d| write(d, "in.txt", b"a\nb\n"),
            how: How::Args(&["run", "pipe \"echo c >> in.txt; cat\" | count", "in.txt"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.txt: it changed while rbag read it: it had 4 bytes when the run began and has 6 now; no result is given for a file in the middle of a change\n"),
        },
        Case {
            name: "a file replaced while it is read",
            setup: |d| {
                write(d, "in.txt", b"a\nb\n");
                write(d, "new.txt", b"c\nd\n");
            },
            how: How::Args(&["run", "pipe \"mv new.txt in.txt; cat\" | count", "in.txt"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.txt: it changed while rbag read it: another file took its name; no result is given for a file in the middle of a change\n"),
        },
        Case {
            name: "a file rewritten in place, size and all, while it is read",
            setup: |d| {
                write(d, "in.txt", b"a\nb\n");
                write(d, "new.txt", b"c\nd\n");
            },
            how: How::Args(&["run", "pipe \"cat new.txt > in.txt; cat\" | count", "in.txt"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.txt: it changed while rbag read it: it was written to; no result is given for a file in the middle of a change\n"),
        },
        Case {
            name: "a compressed file replaced while it is read",
            setup: |d| {
                write(d, "in.txt.gz", &gzip(b"a\nb\n"));
                write(d, "new.gz", &gzip(b"c\nd\n"));
            },
            how: How::Args(&["run", "pipe \"mv new.gz in.txt.gz; cat\" | count", "in.txt.gz"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: in.txt.gz: it changed while rbag read it: another file took its name; no result is given for a file in the middle of a change\n"),
        },
        // One rule for the output options, whether a run prints its
        // result or a merge prints the merged partials.
        Case {
            name: "--top of a stream is its first records, in a run and a merge alike",
            setup: |d| write(d, "r.txt", b"a\nb\nc\nd\ne\n"),
            how: How::Shell("rbag run 'take 4' --top 2 r.txt && rbag run 'take 4' --partial r.txt > t.p && rbag merge --top 2 t.p && rbag run 'filter /./' --top 1 r.txt"),
            code: 0,
            stdout: Expect::Exactly(b"a\nb\na\nb\na\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "--min-count and --top on a value are refused by a run and a merge alike",
            setup: |d| write(d, "r.txt", b"ab\ncd\n"),
            how: How::Shell("rbag run 'len | sum' --partial r.txt > s.p; rbag run 'len | sum' --min-count 2 r.txt; echo $?; rbag merge --min-count 2 s.p; echo $?; rbag merge --top 1 s.p; echo $?"),
            code: 0,
            stdout: Expect::Exactly(b"2\n2\n2\n"),
            stderr: Expect::Exactly(b"rbag: --min-count applies to frequency tables; this pipeline's result is not one\nrbag: --min-count applies to frequency tables; this pipeline's result is not one\nrbag: --top keeps the first rows of a table, groups or records; this pipeline's result is one value\n"),
        },
        Case {
            name: "values equal by == count as one key",
            setup: nothing,
            how: How::Shell("printf '0\\n0.0\\n-0.0\\n3\\n3.0\\n' | rbag run --jsonl frequencies && printf '0\\n0.0\\n-0.0\\n3\\n3.0\\n' | rbag run --jsonl 'filter . == 0 | count' && printf '[1,2.0]\\n[1.0,2]\\n' | rbag run --jsonl distinct"),
            code: 0,
            stdout: Expect::Exactly(b"0\t3\n3\t2\n3\n[1,2]\n"),
            stderr: Expect::Exactly(b""),
        },
        // The partial reader accepts exactly what the writer writes.
        Case {
            name: "a count past i64::MAX in a partial prints as itself",
            setup: |d| forged(d, "c.p", "count", &["count\t9223372036854775808"]),
            how: How::Args(&["merge", "c.p"], b""),
            code: 0,
            stdout: Expect::Exactly(b"9223372036854775808\n"),
            stderr: Expect::Exactly(b""),
        },
        Case {
            name: "a count too large to be one",
            setup: |d| forged(d, "c.p", "count", &["count\t18446744073709551616"]),
            how: How::Args(&["merge", "c.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: c.p:2: a count larger than 18446744073709551615 (too large to be one)\n"),
        },
        Case {
            name: "a count not written as rbag writes one",
            setup: |d| forged(d, "c.p", "count", &["count\t+7"]),
            how: How::Args(&["merge", "c.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: c.p:2: a count is not written so: rbag writes 0 or a whole number without a leading zero or sign\n"),
        },
        Case {
            name: "a count row written twice",
            setup: |d| forged(d, "c.p", "count", &["count\t1", "count\t2"]),
            how: How::Args(&["merge", "c.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: c.p:3: a second 'count' row: rbag writes one\n"),
        },
        Case {
            name: "a key written twice",
            setup: |d| forged(d, "f.p", "frequencies", &["t\ta\t1", "t\ta\t1"]),
            how: How::Args(&["merge", "f.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: f.p:3: a key out of order, or twice (rbag writes each key once, in the order of keys)\n"),
        },
        Case {
            name: "a variance whose squares do not fit its sum",
            setup: |d| forged(d, "v.p", "var 0", &["sum\t2\t0\t4\t0\t0\t0\t0"]),
            how: How::Args(&["merge", "v.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: v.p:2: sums that no numbers make (the squares do not fit the sum, or a sum of nothing)\n"),
        },
        Case {
            name: "a summary whose min and max do not bound its mean",
            setup: |d| forged(d, "s.p", "summary", &["summary\t2\t0\t4\t0\t10\t0\t0\t5\t6"]),
            how: How::Args(&["merge", "s.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: s.p:2: a min and max that cannot bound these numbers (in order, and around their mean)\n"),
        },
        Case {
            name: "a header whose pipeline is not its plan's",
            setup: |d| {
                forged(d, "a.p", "count", &["count\t1"]);
                let text = std::fs::read_to_string(d.join("a.p")).unwrap();
                write(d, "b.p", text.replacen("\"pipeline\":\"count\"", "\"pipeline\":\"distinct | count\"", 1).as_bytes());
            },
            how: How::Args(&["merge", "b.p"], b""),
            code: 1,
            stdout: Expect::Exactly(b""),
            stderr: Expect::Exactly(b"rbag: b.p:1: the header's plan and pipeline do not name one job (was the header edited?)\n"),
        },
    ]
}

fn run(case: &Case, dir: &Path) -> Output {
    match &case.how {
        How::Args(args, stdin) => {
            let mut child = Command::new(RBAG)
                .args(*args)
                .current_dir(dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut pipe = child.stdin.take().unwrap();
            let input = stdin.to_vec();
            let writer = std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
            let output = child.wait_with_output().unwrap();
            writer.join().unwrap();
            output
        }
        How::Shell(script) => {
            // `rbag` in the script is the binary under test, from a
            // directory of its own (the case's directory holds only what
            // the case made).
            let bin = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(RBAG, bin.path().join("rbag")).unwrap();
            let path = format!(
                "{}:{}",
                bin.path().display(),
                std::env::var("PATH").unwrap_or_default()
            );
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .current_dir(dir)
                .env("PATH", path)
                .env("RBAG", RBAG)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    }
}

#[test]
fn the_hostile_input_table() {
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "the table has only {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        (case.setup)(dir.path());
        let output = run(case, dir.path());
        let code = output.status.code().unwrap_or(-1);
        if code != case.code
            || !case.stdout.check(&output.stdout)
            || !case.stderr.check(&output.stderr)
        {
            failures.push(format!(
                "{}: exit {code} (want {}); stdout {:?} (want {}); stderr {:?} (want {})",
                case.name,
                case.code,
                String::from_utf8_lossy(&output.stdout),
                case.stdout.show(),
                String::from_utf8_lossy(&output.stderr),
                case.stderr.show(),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
