//! Input sources: which files a command line names (stdin, paths, quoted
//! globs), what each is (a regular file of known size, or a stream: stdin,
//! a FIFO, a device, anything compressed), checked before any work starts
//! without opening anything that must be read only once, and opened with
//! in-process decompression.

pub mod block;
pub mod glob;
mod members;
pub mod record;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, display_path};

/// One input stream as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    /// The name used in messages: the path as given, with control
    /// characters and bytes that are not UTF-8 escaped, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => String::from("<stdin>"),
            Source::File(path) => display_path(path),
        }
    }

    /// Whether the name says JSON lines (`.jsonl`, `.ndjson`, also with a
    /// compression suffix).
    pub fn named_jsonl(&self) -> bool {
        match self {
            Source::Stdin => false,
            Source::File(path) => {
                let name = path.as_os_str().as_bytes();
                let name = Compression::from_name(name)
                    .map_or(name, |c| &name[..name.len() - c.suffix().len()]);
                name.ends_with(b".jsonl") || name.ends_with(b".ndjson")
            }
        }
    }
}

/// Turn FILE arguments into sources: none or `-` is stdin; an argument with
/// `*`, `?` or `[` that does not exist as written is a glob, expanded here in
/// byte order so that quoted globs work and avoid the shell's ARG_MAX.
///
/// # Errors
/// A glob that is malformed or matches nothing.
pub fn resolve(args: &[OsString]) -> Result<Vec<Source>, Error> {
    if args.is_empty() {
        return Ok(vec![Source::Stdin]);
    }
    let mut sources = Vec::with_capacity(args.len());
    for arg in args {
        if arg == "-" {
            sources.push(Source::Stdin);
        } else if glob::is_glob(arg) && std::fs::symlink_metadata(arg).is_err() {
            sources.extend(glob::expand(arg)?.into_iter().map(Source::File));
        } else {
            sources.push(Source::File(PathBuf::from(arg)));
        }
    }
    Ok(sources)
}

/// A compression format rbag reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    /// By file name suffix.
    pub fn from_name(name: &[u8]) -> Option<Compression> {
        [
            Compression::Gzip,
            Compression::Zstd,
            Compression::Bzip2,
            Compression::Xz,
        ]
        .into_iter()
        .find(|c| name.ends_with(c.suffix().as_bytes()))
    }

    /// By the magic bytes a stream starts with.
    pub fn from_magic(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Some(Compression::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
            Compression::Bzip2 => ".bz2",
            Compression::Xz => ".xz",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}

/// Whether to decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decompress {
    /// By name or magic bytes.
    Auto,
    /// Read raw bytes.
    Never,
}

/// What a source turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A regular file of this size, read raw: workers read their windows of
    /// it themselves.
    Regular { size: u64 },
    /// Read as one stream: stdin, a FIFO, a device, or anything compressed
    /// (whose size, if known, is the compressed size).
    Stream {
        compression: Option<Compression>,
        /// Known when the bytes are a regular file (compressed).
        size: Option<u64>,
        /// The compression is decided when the stream is opened (by its
        /// magic bytes), since it cannot be peeked at in advance.
        detect: bool,
    },
}

/// What a regular file was when a run planned to read it: its device and
/// inode (replaced by another file?), its size and its modification time
/// (written to since?). A file read while it changes gives a count of
/// neither its old nor its new content, so a run checks the stamp again
/// at the end and fails rather than print such a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    modified: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
        }
    }

    /// Check that `source` is still the file that was stamped.
    ///
    /// # Errors
    /// It was replaced, resized or written to, or cannot be found.
    pub fn check(&self, source: &Source) -> Result<(), Error> {
        let Source::File(path) = source else {
            return Ok(());
        };
        let changed = |how: String| Error::Changed {
            path: source.name(),
            how,
        };
        let now = match std::fs::metadata(path) {
            Ok(meta) => Stamp::of(&meta),
            Err(e) => {
                return Err(changed(format!(
                    "it is gone ({})",
                    crate::error::io_message(&e)
                )));
            }
        };
        if (now.dev, now.ino) != (self.dev, self.ino) {
            return Err(changed("another file took its name".into()));
        }
        if now.size != self.size {
            return Err(changed(format!(
                "it had {} bytes when the run began and has {} now",
                self.size, now.size
            )));
        }
        if now.modified != self.modified {
            return Err(changed("it was written to".into()));
        }
        Ok(())
    }
}

/// Check a source without reading anything that can be read only once:
/// it exists, is not a directory, may be read; regular files are peeked at
/// for compression.
///
/// # Errors
/// A missing, unreadable or directory source.
pub fn inspect(source: &Source, decompress: Decompress) -> Result<Shape, Error> {
    inspect_stamped(source, decompress).map(|(shape, _)| shape)
}

/// [`inspect`], with the stamp of a regular file (compressed or not).
///
/// # Errors
/// As [`inspect`].
pub fn inspect_stamped(
    source: &Source,
    decompress: Decompress,
) -> Result<(Shape, Option<Stamp>), Error> {
    inspect_shape(source, decompress)
}

fn inspect_shape(source: &Source, decompress: Decompress) -> Result<(Shape, Option<Stamp>), Error> {
    let path = match source {
        Source::Stdin => {
            check_stdin_open()?;
            let shape = Shape::Stream {
                compression: None,
                size: None,
                detect: decompress == Decompress::Auto,
            };
            return Ok((shape, None));
        }
        Source::File(path) => path,
    };
    let io_error = |e: io::Error| Error::io(source.name(), e);
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if meta.is_dir() {
        return Err(Error::IsDirectory {
            path: source.name(),
        });
    }
    let readable = || {
        rustix::fs::access(path, rustix::fs::Access::READ_OK)
            .map_err(|e| io_error(io::Error::from(e)))
    };
    if !meta.is_file() {
        readable()?;
        // A FIFO, device or socket: opened once, when it is read.
        let compression = match decompress {
            Decompress::Auto => Compression::from_name(path.as_os_str().as_bytes()),
            Decompress::Never => None,
        };
        let shape = Shape::Stream {
            compression,
            size: None,
            detect: compression.is_none() && decompress == Decompress::Auto,
        };
        return Ok((shape, None));
    }
    let size = meta.len();
    let stamp = Some(Stamp::of(&meta));
    if decompress == Decompress::Never {
        readable()?;
        return Ok((Shape::Regular { size }, stamp));
    }
    let compression = match Compression::from_name(path.as_os_str().as_bytes()) {
        Some(c) => {
            readable()?;
            Some(c)
        }
        None if size == 0 => {
            readable()?;
            None
        }
        // Opening it to read its first bytes shows it readable.
        None => {
            let mut head = [0u8; 6];
            let mut file = File::open(path).map_err(io_error)?;
            let mut got = 0;
            while got < head.len() {
                match file.read(&mut head[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_error(e)),
                }
            }
            Compression::from_magic(&head[..got])
        }
    };
    let shape = match compression {
        Some(c) => Shape::Stream {
            compression: Some(c),
            size: Some(size),
            detect: false,
        },
        None => Shape::Regular { size },
    };
    Ok((shape, stamp))
}

/// Rust's runtime puts `/dev/null` in place of a standard stream that was
/// closed when the process started (so later files do not take its
/// number), opened read-write. A stream that is `/dev/null` opened
/// read-write was therefore, almost surely, closed: reading it would give
/// an empty input, writing it would lose the result, silently.
fn closed_at_start(fd: impl AsFd) -> bool {
    let Ok(stat) = rustix::fs::fstat(&fd) else {
        return true;
    };
    let is_null = rustix::fs::FileType::from_raw_mode(stat.st_mode)
        == rustix::fs::FileType::CharacterDevice
        && rustix::fs::major(stat.st_rdev) == 1
        && rustix::fs::minor(stat.st_rdev) == 3;
    let read_write =
        rustix::fs::fcntl_getfl(&fd).is_ok_and(|flags| flags.contains(rustix::fs::OFlags::RDWR));
    is_null && read_write
}

/// Fail when standard input was closed (`<&-`).
///
/// # Errors
/// Standard input is closed.
pub fn check_stdin_open() -> Result<(), Error> {
    if closed_at_start(io::stdin()) {
        return Err(Error::StreamClosed {
            name: "<stdin>",
            what: "standard input",
            redirect: "<&-",
            consequence: "there is nothing to read",
        });
    }
    Ok(())
}

/// Fail when standard output was closed (`>&-`).
///
/// # Errors
/// Standard output is closed.
pub fn check_stdout_open() -> Result<(), Error> {
    if closed_at_start(io::stdout()) {
        return Err(Error::StreamClosed {
            name: "stdout",
            what: "standard output",
            redirect: ">&-",
            consequence: "the result would be lost",
        });
    }
    Ok(())
}

/// Counts the bytes a decoder consumed from the buffered compressed
/// input, so that an error in compressed data can say where it is (not
/// how far the buffer had read ahead).
struct Consumed<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: BufRead> Read for Consumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Consumed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.count.fetch_add(amount as u64, Ordering::Relaxed);
    }
}

/// An open stream: the bytes to cut into blocks, what can tell whether more
/// bytes are waiting (for a live pipe), and where in compressed input the
/// reading is.
pub struct Stream {
    pub reader: Box<dyn Read + Send>,
    pub probe: Option<Probe>,
    /// Compressed bytes consumed, for a compressed stream.
    pub compressed: Option<(Compression, Arc<AtomicU64>)>,
}

/// Tells whether a pipe or terminal has bytes waiting.
pub enum Probe {
    Stdin,
    File(File),
}

impl Probe {
    /// Whether a read would return at once.
    pub fn ready(&self) -> bool {
        let ready = |fd: rustix::fd::BorrowedFd<'_>| {
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            matches!(rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default())), Ok(n) if n > 0)
        };
        match self {
            Probe::Stdin => ready(io::stdin().as_fd()),
            Probe::File(file) => ready(file.as_fd()),
        }
    }
}

/// Open a stream source, decompressing as its shape says (or as its magic
/// bytes say, when that is decided now).
///
/// # Errors
/// The source cannot be opened.
pub fn open_stream(source: &Source, shape: &Shape) -> Result<Stream, Error> {
    let Shape::Stream {
        compression,
        detect,
        ..
    } = shape
    else {
        return Err(Error::Usage(
            "internal error: a regular file opened as a stream".into(),
        ));
    };
    let (raw, probe): (Box<dyn Read + Send>, Option<Probe>) = match source {
        Source::Stdin => (Box::new(io::stdin()), Some(Probe::Stdin)),
        Source::File(path) => {
            let file = File::open(path).map_err(|e| Error::io(source.name(), e))?;
            let probe = match file.metadata() {
                Ok(m) if !m.is_file() => file.try_clone().ok().map(Probe::File),
                _ => None,
            };
            (Box::new(file), probe)
        }
    };
    let count = Arc::new(AtomicU64::new(0));
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    // Wait for the first bytes (a pipe may be slow to start).
    let head = buffered
        .fill_buf()
        .map_err(|e| Error::io(source.name(), e))?;
    let compression = if *detect {
        Compression::from_magic(head)
    } else {
        if let Some(named) = *compression
            && !head.is_empty()
            && Compression::from_magic(head) != Some(named)
        {
            // Named so, but not so: say it plainly, at its first byte.
            return Err(Error::Corrupt {
                path: source.name(),
                format: named.name(),
                offset: 0,
                detail: format!(
                    "it does not start as {} data does (is it compressed at all? --decompress never reads it as it is)",
                    named.name()
                ),
            });
        }
        *compression
    };
    let Some(compression) = compression else {
        return Ok(Stream {
            reader: Box::new(buffered),
            probe,
            compressed: None,
        });
    };
    let consumed = Consumed {
        inner: buffered,
        count: Arc::clone(&count),
    };
    let reader = decoder(compression, consumed).map_err(|e| Error::io(source.name(), e))?;
    Ok(Stream {
        reader,
        // Decompressed output is not live: a block is handed on when full.
        probe: None,
        compressed: Some((compression, count)),
    })
}

/// A reader of the decompressed bytes of `compressed`. Each decoder reads
/// concatenated members or frames to the end, as `cat a.gz b.gz` makes.
///
/// # Errors
/// The decoder could not start.
pub fn decoder<R: BufRead + Send + 'static>(
    compression: Compression,
    compressed: R,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::Gzip => Box::new(members::GzipMembers::new(compressed)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(compressed)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(compressed)),
        Compression::Xz => {
            // The .xz format only (not legacy .lzma, found by no magic of
            // ours), with a memory limit: a few hostile bytes can otherwise
            // ask for a 4 GiB dictionary (found by fuzzing). 1 GiB is
            // above what any preset of xz needs to decompress.
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(compressed, stream))
        }
    })
}

/// The most memory the xz decoder may use.
const XZ_MEMORY_LIMIT: u64 = 1 << 30;

/// The error for a failed read of a stream; for compressed input, with
/// where in the compressed bytes the reading was.
pub fn describe_stream_error(
    source: &Source,
    compressed: Option<&(Compression, Arc<AtomicU64>)>,
    error: &io::Error,
) -> Error {
    match compressed {
        Some((compression, count)) => Error::Corrupt {
            path: source.name(),
            format: compression.name(),
            offset: count.load(Ordering::Relaxed),
            detail: crate::error::io_message(error),
        },
        None => Error::io(
            source.name(),
            io::Error::new(error.kind(), error.to_string()),
        ),
    }
}
