//! Typed event payloads and commands (in progress).
