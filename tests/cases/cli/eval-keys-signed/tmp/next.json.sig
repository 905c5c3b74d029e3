{
  "schemaVersion": 1,
  "algorithm": "ed25519",
  "keyId": "fe36022e3adce2c6",
  "signature": "v0Bt2tMRq91ItGbyAs14Q+Mm8noEN4m4RZR8a5V7GjsIkUHDUO0OkmLINucJYi5LnKNHT7bDzMNye0ZRtchNAw=="
}
