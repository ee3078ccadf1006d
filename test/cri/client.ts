// A small CRI client (what crictl does, for the calls a kubelet makes in one pod's life) over a
// runtime's gRPC unix socket, with @grpc/grpc-js and the api.proto subset beside this file.
// Messages are plain objects with camelCase fields; int64 as numbers, enums as their names.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Embedded as text so a `bun build --compile`d driver carries it (the VM has no source tree).
import protoText from "./api.proto" with { type: "text" };

// biome-ignore lint: CRI messages are dynamic objects shaped by api.proto
export type Msg = Record<string, any>;

type Unary = (req: Msg, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Msg) => void) => void;

function loadServices(): { runtime: grpc.ServiceClientConstructor; image: grpc.ServiceClientConstructor } {
  // proto-loader reads files: give it the embedded text through a private temp file.
  const dir = mkdtempSync(join(tmpdir(), "bunc-cri-proto-"));
  try {
    const file = join(dir, "api.proto");
    writeFileSync(file, protoText);
    const def = protoLoader.loadSync(file, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } };
    return { runtime: pkg.runtime.v1.RuntimeService!, image: pkg.runtime.v1.ImageService! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly image: grpc.Client;

  constructor(socketPath: string) {
    const { runtime, image } = loadServices();
    const target = `unix://${socketPath}`;
    const creds = grpc.credentials.createInsecure();
    const options = { "grpc.max_receive_message_length": 16 * 1024 * 1024 };
    this.runtime = new runtime(target, creds, options);
    this.image = new image(target, creds, options);
  }

  /** Call a RuntimeService method; rejects with the gRPC status message on error. */
  call(method: string, req: Msg = {}, timeoutMs = 120_000): Promise<Msg> {
    return this.invoke(this.runtime, method, req, timeoutMs);
  }

  /** Call an ImageService method. */
  callImage(method: string, req: Msg = {}, timeoutMs = 60_000): Promise<Msg> {
    return this.invoke(this.image, method, req, timeoutMs);
  }

  private invoke(client: grpc.Client, method: string, req: Msg, timeoutMs: number): Promise<Msg> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (typeof fn !== "function") return Promise.reject(new Error(`CRI: no method ${method} in api.proto`));
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new Error(`CRI ${method}: ${err.details || err.message}`));
        else resolve(res);
      });
    });
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }
}
