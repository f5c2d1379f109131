//! The encoder: compact, ASCII-only JSON for every QMP message kind (in progress).
