{"schemaVersion": 1, "algorithm": "ed25519", "keyId": "fe36022e3adce2c6", "signature": "not base64!"}
