//! Who reacts to which domain event, in the same transaction.
