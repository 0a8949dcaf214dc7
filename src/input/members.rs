//! Gzip data as `gzip -d` reads it: members one after another (`cat a.gz
//! b.gz`), and zero bytes after the last one ignored (tape archives and
//! some writers pad a file to a block size).

use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;

/// The decompressed bytes of every gzip member of `R`, in order.
pub struct GzipMembers<R: BufRead> {
    member: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzipMembers<R> {
    pub fn new(compressed: R) -> GzipMembers<R> {
        GzipMembers {
            member: Some(GzDecoder::new(compressed)),
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended (the decoder consumed exactly its bytes):
            // the end of the data, another member, or padding.
            let mut rest = self.member.take().expect("checked above").into_inner();
            if !at_end(&mut rest)? {
                self.member = Some(GzDecoder::new(rest));
            }
        }
    }
}

/// After a member: whether only zero bytes (or nothing) remain. Anything
/// else after zeros is an error; right after a member, it is the next.
fn at_end<R: BufRead>(rest: &mut R) -> io::Result<bool> {
    let mut padded = false;
    loop {
        let buf = rest.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        let zeros = buf.iter().take_while(|&&b| b == 0).count();
        if zeros == 0 {
            if padded {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "data after the zero bytes that pad the end of the gzip data",
                ));
            }
            // Another member starts with gzip's magic bytes; anything else
            // is said here, at its first byte (not where a header parse
            // of it gave up).
            if buf[0] != 0x1f || buf.get(1).is_some_and(|&b| b != 0x8b) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "data after the end of the gzip data that is not another gzip member",
                ));
            }
            return Ok(false);
        }
        rest.consume(zeros);
        padded = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn read(compressed: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipMembers::new(compressed).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn members_follow_one_another_and_zero_padding_ends_them() {
        let mut data = gzip(b"a\n");
        data.extend(gzip(b"b\n"));
        assert_eq!(read(&data).unwrap(), b"a\nb\n");
        data.extend([0u8; 1000]);
        assert_eq!(read(&data).unwrap(), b"a\nb\n");
        data.extend(gzip(b"c\n"));
        let err = read(&data).unwrap_err();
        assert!(err.to_string().contains("after the zero bytes"), "{err}");
        assert!(read(&gzip(b"x")[..5]).is_err());
        let mut garbage = gzip(b"a\n");
        garbage.extend(b"junk");
        let err = read(&garbage).unwrap_err();
        assert!(err.to_string().contains("not another gzip member"), "{err}");
    }
}
