// A Modbus TCP server for the integrations/modbus tests: modbus-serial's
// ServerTCP on 127.0.0.1, unit 1, with fixed registers.
//
//   holding registers: offset 0 reads 1, 1 reads 0, 2 reads 65535, 9 reads 4242
//   input registers:   offset 0 reads 7, 1 reads 513
//
// Any other offset below 100 reads 0; offsets from 100 up answer the
// exception "illegal data address" (2). It prints "ready PORT" on stdout
// once it listens, and exits when its standard input closes, so it never
// outlives the test that started it.
"use strict";

const net = require("net");
const { ServerTCP } = require("modbus-serial");

const HOST = "127.0.0.1";
const UNIT = 1;
const SIZE = 100;
const holding = { 0: 1, 1: 0, 2: 65535, 9: 4242 };
const input = { 0: 7, 1: 513 };

function read(table, addr) {
    if (addr >= SIZE) {
        // modbus-serial answers an error carrying modbusErrorCode as that
        // exception.
        const err = new Error("illegal data address");
        err.modbusErrorCode = 0x02;
        throw err;
    }
    return table[addr] || 0;
}

const vector = {
    getHoldingRegister: (addr) => read(holding, addr),
    getInputRegister: (addr) => read(input, addr),
};

// ServerTCP treats port 0 as "the default, 502", so a free port is found
// first; should another process take it in between, the next one is tried.
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen({ port: 0, host: HOST }, () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

async function start(attempt) {
    const port = await freePort();
    const server = new ServerTCP(vector, { host: HOST, port, unitID: UNIT });
    server.on("initialized", () => process.stdout.write(`ready ${port}\n`));
    server.on("serverError", (err) => {
        if (err.code === "EADDRINUSE" && attempt < 10) {
            start(attempt + 1);
            return;
        }
        process.stderr.write(`modbus test server: ${err.message}\n`);
        process.exit(1);
    });
    server.on("socketError", () => {});
}

process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
start(0).catch((err) => {
    process.stderr.write(`modbus test server: ${err.message}\n`);
    process.exit(1);
});
