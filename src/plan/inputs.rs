//! The inputs of a plan: what each source is (its size, its compression),
//! the byte windows each regular file is cut into, and how many threads
//! are worth starting. The engine reads exactly these windows,
//! `--byte-range` selects from them, and `--explain` prints them.

use crate::error::Error;
use crate::input::{Decompress, Shape, Source, Stamp, inspect_stamped};

/// One input as the engine reads it.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub source: Source,
    pub shape: Shape,
    /// For a regular file: the bytes `[start, end)` whose records are read,
    /// cut into the windows of [`Input::window`].
    pub span: (u64, u64),
    /// What the file was when planned (a regular file, compressed or not).
    pub stamp: Option<Stamp>,
}

impl Input {
    /// An input read whole (a partial), or before its span is planned.
    pub fn whole(source: Source, shape: Shape) -> Input {
        Input {
            source,
            shape,
            span: (0, 0),
            stamp: None,
        }
    }

    /// Check that the file is still what was planned.
    ///
    /// # Errors
    /// It changed: replaced, resized or written to.
    pub fn check_unchanged(&self) -> Result<(), Error> {
        match &self.stamp {
            Some(stamp) => stamp.check(&self.source),
            None => Ok(()),
        }
    }

    /// How many windows the span has with blocks of `block_size`.
    pub fn window_count(&self, block_size: u64) -> u64 {
        let (start, end) = self.span;
        if start >= end || !matches!(self.shape, Shape::Regular { .. }) {
            return 0;
        }
        let block_size = block_size.max(1);
        (end - 1) / block_size - start / block_size + 1
    }

    /// Window `k`: `[k'*B, (k'+1)*B)` clipped to the span, where `k'`
    /// counts from the window holding the span's start. Computed, not
    /// stored, so a tiny block size costs no memory.
    pub fn window(&self, k: u64, block_size: u64) -> Option<(u64, u64)> {
        if k >= self.window_count(block_size) {
            return None;
        }
        let block_size = block_size.max(1);
        let (start, end) = self.span;
        let first = start / block_size;
        let from = if k == 0 {
            start
        } else {
            (first + k) * block_size
        };
        let to = (first + k + 1).saturating_mul(block_size).min(end);
        Some((from, to))
    }

    /// The windows, in order.
    pub fn windows(&self, block_size: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        (0..self.window_count(block_size)).filter_map(move |k| self.window(k, block_size))
    }

    /// Where the part read starts (`--byte-range`), for line numbers.
    pub fn range_start(&self) -> u64 {
        self.span.0
    }
}

/// The total size of the inputs, when every one is known.
pub(crate) fn known_total(inputs: &[Input]) -> Option<u64> {
    inputs
        .iter()
        .map(|i| match &i.shape {
            Shape::Regular { .. } => Some(i.span.1 - i.span.0),
            Shape::Stream { .. } => None,
        })
        .sum()
}

/// `--byte-range START:END`: the records whose first byte is in
/// `[start, end)`; no end means to the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

/// The windows `[k*B, (k+1)*B)` of a file of `size` bytes, cut to
/// `range`: each window of the file that overlaps the range, clipped to
/// it. The last one ends at the end of the range (or of the file). The
/// model [`Input::window`] is held to.
#[cfg(test)]
fn windows(size: u64, block_size: u64, range: Option<ByteRange>) -> Vec<(u64, u64)> {
    let block_size = block_size.max(1);
    let (from, to) = match range {
        Some(range) => (range.start.min(size), range.end.unwrap_or(size).min(size)),
        None => (0, size),
    };
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start / block_size)
            .saturating_add(1)
            .saturating_mul(block_size)
            .min(to);
        out.push((start, end));
        start = end;
    }
    out
}

/// Check every source and plan how it is read.
///
/// # Errors
/// A source that cannot be read; a `--byte-range` on anything but one
/// regular, uncompressed file.
pub fn inputs(
    sources: Vec<Source>,
    decompress: Decompress,
    range: Option<ByteRange>,
    threads: usize,
) -> Result<Vec<Input>, Error> {
    let shapes = inspect_all(&sources, decompress, threads);
    let mut inputs = Vec::with_capacity(sources.len());
    for (source, inspected) in sources.into_iter().zip(shapes) {
        let (shape, stamp) = inspected?;
        inputs.push(Input {
            stamp,
            ..Input::whole(source, shape)
        });
    }
    if range.is_some() {
        let why = match inputs.as_slice() {
            [one] => match (&one.source, &one.shape) {
                (_, Shape::Regular { .. }) => None,
                (Source::Stdin, _) => {
                    Some("standard input has no byte offsets to seek to".to_owned())
                }
                (
                    _,
                    Shape::Stream {
                        compression: Some(c),
                        ..
                    },
                ) => Some(format!(
                    "{} is {} compressed, and a compressed file cannot be entered at a byte offset (decompress it first, or give the whole file)",
                    one.source.name(),
                    c.name()
                )),
                _ => Some(format!(
                    "{} is not a regular file, so it cannot be read from an offset",
                    one.source.name()
                )),
            },
            _ => Some("it needs exactly one input file".to_owned()),
        };
        if let Some(why) = why {
            return Err(Error::Usage(format!("--byte-range: {why}")));
        }
    }
    for input in &mut inputs {
        if let Shape::Regular { size } = input.shape {
            input.span = match range {
                Some(range) => (range.start.min(size), range.end.unwrap_or(size).min(size)),
                None => (0, size),
            };
        }
    }
    Ok(inputs)
}

/// Inspect every source, on up to `threads` threads when there are many
/// (each costs a few system calls, and twenty thousand small files spent
/// most of a run being inspected one by one). The results are in the
/// order of `sources`, so the first error reported is the first in order.
fn inspect_all(
    sources: &[Source],
    decompress: Decompress,
    threads: usize,
) -> Vec<Result<(Shape, Option<Stamp>), Error>> {
    const PER_THREAD: usize = 256;
    let threads = threads.min(sources.len() / PER_THREAD).max(1);
    if threads == 1 {
        return sources
            .iter()
            .map(|s| inspect_stamped(s, decompress))
            .collect();
    }
    let chunk = sources.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let running: Vec<_> = sources
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| inspect_stamped(s, decompress))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        running
            .into_iter()
            .flat_map(|thread| thread.join().expect("inspecting a file does not panic"))
            .collect()
    })
}

/// How many threads are worth starting: no more than asked, nor than
/// there are windows when every input is a regular file.
pub fn threads(requested: usize, inputs: &[Input], block_size: u64) -> usize {
    if inputs
        .iter()
        .all(|i| matches!(i.shape, Shape::Regular { .. }))
    {
        let windows: u64 = inputs.iter().map(|i| i.window_count(block_size)).sum();
        requested
            .min(usize::try_from(windows).unwrap_or(usize::MAX))
            .max(1)
    } else {
        requested.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_windows_are_the_listed_ones() {
        for (size, block_size, range) in [
            (10, 4, None),
            (0, 4, None),
            (
                10,
                4,
                Some(ByteRange {
                    start: 3,
                    end: Some(9),
                }),
            ),
            (
                10,
                4,
                Some(ByteRange {
                    start: 30,
                    end: None,
                }),
            ),
            (
                10,
                4,
                Some(ByteRange {
                    start: 5,
                    end: Some(5),
                }),
            ),
            (
                10,
                4,
                Some(ByteRange {
                    start: 4,
                    end: Some(8),
                }),
            ),
            (
                1000,
                1,
                Some(ByteRange {
                    start: 17,
                    end: Some(23),
                }),
            ),
        ] {
            let (start, end) = match range {
                Some(r) => (r.start.min(size), r.end.unwrap_or(size).min(size)),
                None => (0, size),
            };
            let input = Input {
                span: (start, end),
                ..Input::whole(Source::Stdin, Shape::Regular { size })
            };
            let computed: Vec<_> = (0..input.window_count(block_size))
                .map(|k| input.window(k, block_size).unwrap())
                .collect();
            assert_eq!(
                computed,
                windows(size, block_size, range),
                "{size} {block_size} {range:?}"
            );
        }
    }

    #[test]
    fn windows_tile_the_range() {
        assert_eq!(windows(10, 4, None), [(0, 4), (4, 8), (8, 10)]);
        assert_eq!(windows(0, 4, None), []);
        let range = Some(ByteRange {
            start: 3,
            end: Some(9),
        });
        assert_eq!(windows(10, 4, range), [(3, 4), (4, 8), (8, 9)]);
        let past = Some(ByteRange {
            start: 30,
            end: None,
        });
        assert_eq!(windows(10, 4, past), []);
        let empty = Some(ByteRange {
            start: 5,
            end: Some(5),
        });
        assert_eq!(windows(10, 4, empty), []);
    }
}
