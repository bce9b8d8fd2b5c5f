/* Prints the caller's session keyring as "SERIAL TYPE;UID;GID;PERM;DESCRIPTION" (KEYCTL_DESCRIBE),
 * for the session keyring tests (process_attrs.bats). Built statically into the bundle. */
#include <linux/keyctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    if (id < 0) {
        perror("keyctl KEYCTL_GET_KEYRING_ID @s");
        return 1;
    }
    char desc[512];
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc);
    if (n < 0) {
        perror("keyctl KEYCTL_DESCRIBE");
        return 1;
    }
    desc[sizeof desc - 1] = '\0';
    printf("%ld %s\n", id, desc);
    return 0;
}
