"""The store: the decision journal, the sync into FiftyOne, the schema nblabel writes, claims,
and the one shim over private FiftyOne calls. The only code that talks to MongoDB or FiftyOne
internals."""
