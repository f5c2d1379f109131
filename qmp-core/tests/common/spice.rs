//! A SPICE client's first steps, for the live tests that make QEMU emit its SPICE
//! events: the link of a main channel, as a real client does it.

use super::qemu::Stream;

/// A little-endian u32 at `at`.
pub fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The SPICE link of a main channel for a new session (spice-protocol 2.2), up to and
/// including the main channel's first message, SPICE_MSG_MAIN_INIT; returns the session
/// id that message announces.
pub fn spice_link_main(link: &mut Stream) -> u32 {
    use rsa::pkcs8::DecodePublicKey;
    use std::io::Write;

    // SpiceLinkMess: connection_id 0 (a new session), channel_type 1 (main),
    // channel_id 0, one common capability word, no channel capabilities, capabilities
    // at offset 18 (right after these fields), then the word: AUTH_SELECTION (bit 0)
    // and AUTH_SPICE (bit 1).
    let mut body = Vec::new();
    body.extend(0u32.to_le_bytes());
    body.extend([1u8, 0]);
    body.extend(1u32.to_le_bytes());
    body.extend(0u32.to_le_bytes());
    body.extend(18u32.to_le_bytes());
    body.extend(3u32.to_le_bytes());
    // SpiceLinkHeader: magic, major 2, minor 2, body size.
    let mut message = b"REDQ".to_vec();
    for word in [2, 2, body.len() as u32] {
        message.extend(word.to_le_bytes());
    }
    message.extend(body);
    link.write_all(&message).unwrap();

    // The reply: the same header, then SpiceLinkReply: error, the server's RSA public
    // key (DER SubjectPublicKeyInfo, 162 bytes), capability counts and offset, words.
    let mut header = [0u8; 16];
    link.read_exact_timeout(&mut header).unwrap();
    assert_eq!(&header[..4], b"REDQ");
    assert_eq!((le32(&header, 4), le32(&header, 8)), (2, 2), "version");
    let mut reply = vec![0u8; le32(&header, 12) as usize];
    link.read_exact_timeout(&mut reply).unwrap();
    assert!(
        reply.len() >= 178,
        "SpiceLinkReply of {} bytes",
        reply.len()
    );
    assert_eq!(le32(&reply, 0), 0, "SpiceLinkReply error");
    let key = rsa::PublicKey::from_public_key_der(&reply[4..166])
        .unwrap_or_else(|e| panic!("the server's public key: {e}"));

    // Auth mechanism SPICE (1), then the ticket: an empty password with its NUL,
    // encrypted (QEMU refuses a block of zeros even with disable-ticketing).
    let ticket = key.oaep_encrypt::<sha1::Sha1>(b"\0").unwrap();
    assert_eq!(ticket.len(), 128, "a 1024-bit key's block");
    let mut auth = 1u32.to_le_bytes().to_vec();
    auth.extend(ticket);
    link.write_all(&auth).unwrap();
    let mut result = [0u8; 4];
    link.read_exact_timeout(&mut result).unwrap();
    assert_eq!(
        u32::from_le_bytes(result),
        0,
        "link result (SPICE_LINK_ERR_OK)"
    );

    // SpiceDataHeader (no mini header was offered): serial u64, type u16, size u32,
    // sub_list u32; SPICE_MSG_MAIN_INIT is type 103 and opens with the session id.
    let mut header = [0u8; 18];
    link.read_exact_timeout(&mut header).unwrap();
    let kind = u16::from_le_bytes([header[8], header[9]]);
    assert_eq!(kind, 103, "SPICE_MSG_MAIN_INIT expected first");
    let mut init = vec![0u8; le32(&header, 10) as usize];
    link.read_exact_timeout(&mut init).unwrap();
    assert!(
        init.len() >= 4,
        "SPICE_MSG_MAIN_INIT of {} bytes",
        init.len()
    );
    le32(&init, 0)
}
