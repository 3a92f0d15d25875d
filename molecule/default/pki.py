"""Write the default scenario's throwaway PKI: a CA, one certificate+key per member (named by its
address) and a client certificate for the playbooks' modules and the verifier.

    python pki.py <directory> <member address>...      (nothing is rewritten when ca.pem exists)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "emulator"))

from tls_pki import TestPKI  # noqa: E402


def main(directory, addresses):
    if os.path.exists(os.path.join(directory, "ca.pem")):
        return
    os.makedirs(directory, mode=0o700, exist_ok=True)
    pki = TestPKI("molecule default CA")
    for address in addresses:
        pki.write(directory, "%s.pem" % address, pki.pem(address, hosts=[address]))
    pki.write(directory, "client.pem", pki.pem("molecule admin", unit="clients", usages=("client",)))
    pki.write(directory, "ca.pem", pki.ca_pem)  # last: its presence means the set is complete


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
