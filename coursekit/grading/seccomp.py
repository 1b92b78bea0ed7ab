"""Refuse the kernel's keyring calls in a grading worker (a seccomp filter).

Keyrings are not confined by a worker's namespaces: every process of a uid shares its user
keyring, and a worker forked by a root grader runs as the uid of its slot, the same for every
worker of that slot. A key added by one worker (a hidden input stashed in a hidden case) could
be read by the next one, even by the next student's submission, and a worker possesses the
grader's session keyring. Python and the course never use keyrings, so `add_key`, `request_key`
and `keyctl` fail with EPERM (as in Docker's default profile), and so does every system call made
through another ABI (32-bit or x32 calls on a 64-bit machine, which the filter could not read).
"""

from __future__ import annotations

import ctypes
import errno
import platform

__all__ = ["KEYRING_CALLS", "refuse_keyrings"]

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_LOAD, _JUMP_EQUAL, _JUMP_AT_LEAST, _RETURN = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JGE|K, RET|K
_ALLOW, _REFUSE = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
_NUMBER, _ARCH = 0, 4  # offsets in struct seccomp_data
_X32 = 0x40000000  # x32 system calls share x86_64's audit arch and have this bit set

#: machine -> (audit architecture, the numbers of add_key, request_key and keyctl)
KEYRING_CALLS = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def _program(arch: int, numbers: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """The filter: another ABI is refused, then the keyring calls (and x32), then everything else is allowed."""
    n = len(numbers)
    code = [(_LOAD, 0, 0, _ARCH),
            (_JUMP_EQUAL, 1, 0, arch),  # our ABI: skip the refusal below
            (_RETURN, 0, 0, _REFUSE),
            (_LOAD, 0, 0, _NUMBER),
            (_JUMP_AT_LEAST, n + 1, 0, _X32)]  # to the refusal at the end
    code += [(_JUMP_EQUAL, n - i, 0, number) for i, number in enumerate(numbers)]
    return code + [(_RETURN, 0, 0, _ALLOW), (_RETURN, 0, 0, _REFUSE)]


def refuse_keyrings() -> str:
    """In the worker, after no_new_privs: install the filter; returns the line for the isolation report."""
    known = KEYRING_CALLS.get(platform.machine())
    if known is None:
        return f"keyring calls not refused (no filter for {platform.machine()})"
    code = _program(*known)
    instructions = (_Instruction * len(code))(*(_Instruction(*i) for i in code))
    program = _Program(len(code), instructions)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(ctypes.pointer(program), ctypes.c_void_p), 0,
                  0) != 0:
        return f"keyring calls not refused (seccomp: {errno.errorcode.get(ctypes.get_errno(), '?')})"
    return "no kernel keyrings (seccomp)"
