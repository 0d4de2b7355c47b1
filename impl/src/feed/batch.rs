//! Batch validation of a stream of classic messages from many feeds: the field and position
//! rules run message by message as always, while the ed25519 checks are gathered and done with
//! batch verification; a batch that fails is bisected to find the culprits, so the results are
//! exactly those of one-by-one validation.
