import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A real redis-server on 127.0.0.1 for tests (installed by .ci/run from Debian's packages). */
export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** `password`: the server requires it (AUTH); the returned url carries none. */
export async function startTestRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...(options.password === undefined ? [] : ['--requirepass', options.password]),
      ],
      { stdio: 'ignore' },
    );
  } catch (error) {
    throw new Error(
      `redis-server is needed for these tests (apt-get install redis-server; .ci/run installs it): ${error}`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(`redis-server is needed for these tests (apt-get install redis-server): ${error.message}`),
      ),
    );
    // probe until it listens; a server that exits (port taken, bad argument) fails the start
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const probe = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', () =>
        exited ? reject(new Error('redis-server exited before listening')) : setTimeout(probe, 50),
      );
    };
    probe();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
