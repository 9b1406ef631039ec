// Node 的 parseArgs 用英文报错；这里用学员的语言再说一遍，选项或参数照原样写出。
import type { args as en } from '../en/args.ts';

export const args: typeof en = {
  unknownOption: (option) => `未知的选项 ${option}`,
  missingValue: (option) => `选项 ${option} 缺少取值（写成 ${option} <取值>）`,
  takesNoValue: (option) => `选项 ${option} 不带取值`,
  unexpectedArgument: (arg) => `多余的参数 "${arg}"：这个命令不接受位置参数`,
};
