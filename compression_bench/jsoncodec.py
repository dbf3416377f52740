def encode(data, backend, level):
    return None
def decode(meta, payloads):
    raise NotImplementedError
