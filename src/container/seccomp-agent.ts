// linux.seccomp.listenerPath: the filter's SCMP_ACT_NOTIFY listener fd goes to a seccomp agent
// over a unix socket, with the container process state as JSON (runtime-spec's
// ContainerProcessState; runc sends the same), the fd attached with SCM_RIGHTS.
import type { OciState, Seccomp } from "../spec/types.ts";
import * as native from "../native.ts";

export function handOverListener(seccomp: Seccomp | undefined, state: OciState, pid: number, listenerFd: number): void {
  try {
    const sock = native.connectUnix(seccomp!.listenerPath!, "seccomp agent at linux.seccomp.listenerPath");
    try {
      const msg = { ociVersion: state.ociVersion, fds: ["seccompFd"], pid, metadata: seccomp?.listenerMetadata ?? "", state };
      native.sendFd(sock, Buffer.from(JSON.stringify(msg)), listenerFd);
    } finally {
      native.closeFd(sock);
    }
  } finally {
    native.closeFd(listenerFd);
  }
}
