//! The one frame codec: pure functions over byte slices, plus thin blocking
//! and async readers and writers that only move bytes and call them.
//!
//! A frame is a 4-byte big-endian payload length followed by that many bytes
//! of CBOR. The length is checked against [`MAX_FRAME_LEN`] before any buffer
//! is allocated for the payload, and the payload is decoded from the buffer
//! with a recursion limit of [`MAX_NESTING`]. Bytes left over after the one
//! CBOR value are an error.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Maximum payload length of one frame, in bytes (64 KiB).
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Maximum nesting depth of arrays, maps and tags in one payload. The deepest
/// message pushbind sends nests about six levels.
pub const MAX_NESTING: usize = 32;

/// Length of the frame header.
pub const HEADER_LEN: usize = 4;

/// A frame that could not be encoded, read or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("frame of {len} bytes exceeds the maximum of {MAX_FRAME_LEN} bytes")]
    TooLarge { len: usize },
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("invalid CBOR payload: {0}")]
    Invalid(String),
    #[error("{0} trailing bytes after the CBOR value")]
    TrailingBytes(usize),
    #[error("I/O error on the socket: {0}")]
    Io(#[from] io::Error),
}

impl CodecError {
    /// Whether the stream is still aligned on a frame boundary after this
    /// error, so the connection can go on with the next frame.
    pub fn keeps_stream_aligned(&self) -> bool {
        matches!(self, Self::Invalid(_) | Self::TrailingBytes(_))
    }
}

/// Encodes `message` as one frame: header and payload.
pub fn encode_frame<T: Serialize>(message: &T) -> Result<Vec<u8>, CodecError> {
    let mut frame = vec![0; HEADER_LEN];
    ciborium::into_writer(message, &mut frame)
        .map_err(|err| CodecError::Invalid(err.to_string()))?;
    let len = frame.len() - HEADER_LEN;
    if len > MAX_FRAME_LEN {
        return Err(CodecError::TooLarge { len });
    }
    let header = u32::try_from(len).expect("length is at most MAX_FRAME_LEN");
    frame[..HEADER_LEN].copy_from_slice(&header.to_be_bytes());
    Ok(frame)
}

/// Reads the payload length from a frame header, rejecting lengths over the
/// maximum.
pub fn payload_len(header: [u8; HEADER_LEN]) -> Result<usize, CodecError> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME_LEN {
        return Err(CodecError::TooLarge { len });
    }
    Ok(len)
}

/// Decodes one message from a whole payload.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, CodecError> {
    let mut rest = payload;
    let message = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_NESTING)
        .map_err(|err| CodecError::Invalid(err.to_string()))?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes(rest.len()));
    }
    Ok(message)
}

/// A frame's payload and the bytes after the frame.
pub type FrameSplit<'a> = (&'a [u8], &'a [u8]);

/// Splits the first whole frame off `buf`: returns its payload and the bytes
/// after it, or `None` when `buf` does not yet hold a whole frame.
pub fn split_frame(buf: &[u8]) -> Result<Option<FrameSplit<'_>>, CodecError> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = payload_len(*header)?;
    let body = &buf[HEADER_LEN..];
    if body.len() < len {
        return Ok(None);
    }
    Ok(Some(body.split_at(len)))
}

/// Reads one frame's payload from a blocking reader. Returns `None` when the
/// peer closed the connection cleanly before the first byte of a frame.
pub fn read_frame<R: Read>(reader: &mut R) -> Result<Option<Vec<u8>>, CodecError> {
    let mut header = [0; HEADER_LEN];
    if !read_header(reader, &mut header)? {
        return Ok(None);
    }
    let mut payload = vec![0; payload_len(header)?];
    reader.read_exact(&mut payload).map_err(eof_as_truncated)?;
    Ok(Some(payload))
}

fn read_header<R: Read>(reader: &mut R, header: &mut [u8; HEADER_LEN]) -> Result<bool, CodecError> {
    let mut filled = 0;
    while filled < HEADER_LEN {
        match reader.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(CodecError::Truncated),
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(true)
}

/// Writes one encoded frame to a blocking writer and flushes it.
pub fn write_frame<W: Write>(writer: &mut W, frame: &[u8]) -> Result<(), CodecError> {
    writer.write_all(frame)?;
    writer.flush()?;
    Ok(())
}

/// Reads the first byte of the next frame's header, waiting as long as the
/// peer is idle. Returns `None` on a clean close.
///
/// Split from [`read_frame_rest_async`] so that a server can wait for an idle
/// client without a deadline and still bound the time a started frame takes.
pub async fn read_frame_start_async<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<Option<u8>, CodecError> {
    let mut first = [0; 1];
    loop {
        match reader.read(&mut first).await {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(first[0])),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
}

/// Reads the rest of a frame whose first header byte was already read.
pub async fn read_frame_rest_async<R: AsyncRead + Unpin>(
    reader: &mut R,
    first: u8,
) -> Result<Vec<u8>, CodecError> {
    let mut header = [first, 0, 0, 0];
    reader
        .read_exact(&mut header[1..])
        .await
        .map_err(eof_as_truncated)?;
    let mut payload = vec![0; payload_len(header)?];
    reader
        .read_exact(&mut payload)
        .await
        .map_err(eof_as_truncated)?;
    Ok(payload)
}

/// Reads one frame's payload from an async reader. Returns `None` when the
/// peer closed the connection cleanly before the first byte of a frame.
pub async fn read_frame_async<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<Option<Vec<u8>>, CodecError> {
    match read_frame_start_async(reader).await? {
        Some(first) => read_frame_rest_async(reader, first).await.map(Some),
        None => Ok(None),
    }
}

/// Writes one encoded frame to an async writer and flushes it.
pub async fn write_frame_async<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &[u8],
) -> Result<(), CodecError> {
    writer.write_all(frame).await?;
    writer.flush().await?;
    Ok(())
}

fn eof_as_truncated(err: io::Error) -> CodecError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        CodecError::Truncated
    } else {
        CodecError::Io(err)
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use serde::Deserialize;
    use tokio::io::ReadBuf;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        values: Vec<u32>,
    }

    fn sample() -> Sample {
        Sample {
            name: "fcm-main".into(),
            values: vec![1, 2, 3],
        }
    }

    /// A reader that hands out at most one byte per call, as a slow peer would.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    impl AsyncRead for OneByte<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if let Some((first, rest)) = self.0.split_first() {
                buf.put_slice(&[*first]);
                self.0 = rest;
            }
            Poll::Ready(Ok(()))
        }
    }

    fn frame_with_payload(payload: &[u8]) -> Vec<u8> {
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn round_trip() {
        let frame = encode_frame(&sample()).unwrap();
        let payload = read_frame(&mut frame.as_slice()).unwrap().unwrap();
        assert_eq!(decode_payload::<Sample>(&payload).unwrap(), sample());
    }

    #[test]
    fn oversize_header_rejected_before_reading_payload() {
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        let err = read_frame(&mut input).unwrap_err();
        assert!(matches!(err, CodecError::TooLarge { len } if len == u32::MAX as usize));
    }

    #[test]
    fn largest_allowed_length_accepted() {
        let header = (MAX_FRAME_LEN as u32).to_be_bytes();
        assert_eq!(payload_len(header).unwrap(), MAX_FRAME_LEN);
        let over = (MAX_FRAME_LEN as u32 + 1).to_be_bytes();
        assert!(matches!(
            payload_len(over),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn oversize_message_not_encoded() {
        let big = "x".repeat(MAX_FRAME_LEN);
        assert!(matches!(
            encode_frame(&big),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn truncated_payload_is_an_error() {
        let frame = encode_frame(&sample()).unwrap();
        let cut = &frame[..frame.len() - 1];
        assert!(matches!(
            read_frame(&mut &cut[..]),
            Err(CodecError::Truncated)
        ));
    }

    #[test]
    fn truncated_header_is_an_error() {
        assert!(matches!(
            read_frame(&mut &[0u8, 0][..]),
            Err(CodecError::Truncated)
        ));
    }

    #[test]
    fn clean_close_between_frames_is_none() {
        assert!(read_frame(&mut &[][..]).unwrap().is_none());
    }

    #[test]
    fn back_to_back_frames() {
        let mut stream = encode_frame(&sample()).unwrap();
        stream.extend(encode_frame(&"second").unwrap());
        let mut reader = stream.as_slice();
        let first = read_frame(&mut reader).unwrap().unwrap();
        let second = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(decode_payload::<Sample>(&first).unwrap(), sample());
        assert_eq!(decode_payload::<String>(&second).unwrap(), "second");
        assert!(read_frame(&mut reader).unwrap().is_none());
    }

    #[test]
    fn split_frame_waits_for_whole_frame() {
        let mut stream = encode_frame(&sample()).unwrap();
        stream.extend(encode_frame(&"second").unwrap());
        for cut in 0..HEADER_LEN + 1 {
            assert!(split_frame(&stream[..cut]).unwrap().is_none());
        }
        let (payload, rest) = split_frame(&stream).unwrap().unwrap();
        assert_eq!(decode_payload::<Sample>(payload).unwrap(), sample());
        let (payload, rest) = split_frame(rest).unwrap().unwrap();
        assert_eq!(decode_payload::<String>(payload).unwrap(), "second");
        assert!(rest.is_empty());
    }

    #[test]
    fn one_byte_at_a_time_blocking() {
        let mut stream = encode_frame(&sample()).unwrap();
        stream.extend(encode_frame(&7u32).unwrap());
        let mut reader = OneByte(&stream);
        let first = read_frame(&mut reader).unwrap().unwrap();
        let second = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(decode_payload::<Sample>(&first).unwrap(), sample());
        assert_eq!(decode_payload::<u32>(&second).unwrap(), 7);
    }

    #[tokio::test]
    async fn one_byte_at_a_time_async() {
        let mut stream = encode_frame(&sample()).unwrap();
        stream.extend(encode_frame(&7u32).unwrap());
        let mut reader = OneByte(&stream);
        let first = read_frame_async(&mut reader).await.unwrap().unwrap();
        let second = read_frame_async(&mut reader).await.unwrap().unwrap();
        assert_eq!(decode_payload::<Sample>(&first).unwrap(), sample());
        assert_eq!(decode_payload::<u32>(&second).unwrap(), 7);
        assert!(read_frame_async(&mut reader).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn truncated_frame_async() {
        let frame = encode_frame(&sample()).unwrap();
        let mut reader = &frame[..frame.len() - 2];
        assert!(matches!(
            read_frame_async(&mut reader).await,
            Err(CodecError::Truncated)
        ));
    }

    #[test]
    fn trailing_bytes_rejected() {
        let mut payload = Vec::new();
        ciborium::into_writer(&sample(), &mut payload).unwrap();
        payload.push(0x00);
        assert!(matches!(
            decode_payload::<Sample>(&payload),
            Err(CodecError::TrailingBytes(1))
        ));
    }

    #[test]
    fn wrong_shape_rejected() {
        let mut payload = Vec::new();
        ciborium::into_writer(&vec!["not", "a", "sample"], &mut payload).unwrap();
        let err = decode_payload::<Sample>(&payload).unwrap_err();
        assert!(matches!(err, CodecError::Invalid(_)));
        assert!(err.keeps_stream_aligned());
    }

    #[test]
    fn huge_claimed_byte_string_fails_without_allocating() {
        // A byte string header claiming about 2^60 bytes, followed by 8 bytes.
        let payload = [0x5b, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14];
        assert!(decode_payload::<Sample>(&payload).is_err());
        assert!(decode_payload::<serde_bytes_like::Bytes>(&payload).is_err());
        let frame = frame_with_payload(&payload);
        let read = read_frame(&mut frame.as_slice()).unwrap().unwrap();
        assert_eq!(read.len(), payload.len());
    }

    #[test]
    fn deep_nesting_rejected() {
        let mut tags = vec![0xc6; 10_000];
        tags.push(0x00);
        assert!(decode_payload::<Sample>(&tags).is_err());
        assert!(decode_payload::<ciborium::Value>(&tags).is_err());
        let mut arrays = vec![0x81; 10_000];
        arrays.push(0x00);
        assert!(decode_payload::<ciborium::Value>(&arrays).is_err());
    }

    /// A byte buffer that asks the decoder for an owned byte string, the path
    /// that would allocate whatever length the header claims.
    mod serde_bytes_like {
        use serde::de::{Deserialize, Deserializer, Visitor};

        pub struct Bytes;

        impl<'de> Deserialize<'de> for Bytes {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct BytesVisitor;
                impl Visitor<'_> for BytesVisitor {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_byte_buf<E>(self, _: Vec<u8>) -> Result<Bytes, E> {
                        Ok(Bytes)
                    }
                }
                deserializer.deserialize_byte_buf(BytesVisitor)
            }
        }
    }
}
