//! Integer option values (`rate-limit`, `rate-limit.<request>`,
//! `rate-limit-quarantine-delay`, `block-markdone-timeout`).

use super::{Res, blanks};
use crate::source::{Span, span_in};
use nom::Parser;
use nom::bytes::complete::take_while1;
use nom::character::complete::char;
use nom::combinator::{all_consuming, opt, recognize};
use nom::sequence::{delimited, pair};

/// Why an integer value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegerError {
    /// Occurs when the value is empty or only blanks.
    Empty,
    /// Occurs when the value is a negative whole number.
    Negative,
    /// Occurs when the value is a whole number above `u32::MAX`.
    OutOfRange,
    /// Occurs when the value is not a whole number at all (`4.5`, `ten`, `4 5`).
    Invalid,
}

/// A parsed integer value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Integer {
    /// The value.
    pub value: u32,
    /// The digits' span in the value.
    pub span: Span,
}

/// `integer := blank* DIGIT+ blank*`
pub fn integer(value: &str) -> Result<Integer, IntegerError> {
    if value.trim_matches(super::is_blank).is_empty() {
        return Err(IntegerError::Empty);
    }
    let mut signed = all_consuming(delimited(
        blanks,
        recognize(pair(
            opt(char('-')),
            take_while1(|c: char| c.is_ascii_digit()),
        )),
        blanks,
    ));
    let parsed: Res<'_, &str> = signed.parse(value);
    let Ok((_, digits)) = parsed else {
        return Err(IntegerError::Invalid);
    };
    if digits.starts_with('-') {
        // `-0` is still zero; anything else is negative.
        return if digits.trim_start_matches(['-', '0']).is_empty() {
            Ok(Integer {
                value: 0,
                span: span_in(value, digits),
            })
        } else {
            Err(IntegerError::Negative)
        };
    }
    match digits.parse::<u32>() {
        Ok(n) => Ok(Integer {
            value: n,
            span: span_in(value, digits),
        }),
        Err(_) => Err(IntegerError::OutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(integer(" 42 ").map(|i| i.value), Ok(42));
        assert_eq!(integer(" 42 ").map(|i| i.span), Ok(Span::new(1, 3)));
        assert_eq!(integer("007").map(|i| i.value), Ok(7));
        assert_eq!(integer("4294967295").map(|i| i.value), Ok(u32::MAX));
        assert_eq!(integer("4294967296"), Err(IntegerError::OutOfRange));
        assert_eq!(
            integer("99999999999999999999999"),
            Err(IntegerError::OutOfRange)
        );
        assert_eq!(integer("-3"), Err(IntegerError::Negative));
        assert_eq!(integer(""), Err(IntegerError::Empty));
        assert_eq!(integer("  "), Err(IntegerError::Empty));
        for bad in ["4.5", "ten", "4 5", "+4", "0x10", "4s", "-", "٣"] {
            assert_eq!(integer(bad), Err(IntegerError::Invalid), "{bad}");
        }
    }
}
