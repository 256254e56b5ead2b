//! RTCP (RFC 3550, RFC 4585, RFC 5761): compound packets, SR/RR/SDES/BYE, NACK and PLI.
