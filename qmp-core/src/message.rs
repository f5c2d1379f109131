//! The QMP message model (in progress).
