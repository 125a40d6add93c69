// Moved to vns3-sdk/testing (src/testing/mesh.ts); this re-export keeps older imports working until they switch.
export { startTestMesh, type TestMesh, type TestMeshOptions } from '../../src/testing/index.js';
