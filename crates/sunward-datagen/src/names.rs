//! Made-up Chinese names for the students of the real-style exports (a case
//! system's 学生姓名 column, which a pipeline must leave out): one per
//! student and seed, from a hash, so that the same seed writes the same name.

use crate::world::Student;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "沈", "陆", "顾", "钱", "蒋", "蔡",
    "姚", "范",
];
const GIVEN: &[&str] = &[
    "子", "梓", "浩", "宇", "轩", "涵", "欣", "怡", "思", "雨", "晨", "睿", "博", "文", "佳", "诗", "可", "依", "嘉",
    "俊", "杰", "昊", "天", "乐", "心", "悦", "彤", "若", "辰", "泽", "铭", "瑞", "安", "语", "萱", "琪", "宁", "航",
    "霖", "一",
];

/// A made-up Chinese name for a student (only ever written to exports).
pub fn fake_name(seed: u64, student: Student) -> String {
    let h = crate::rng::hash(seed, "name", &[student.code()]);
    let pick = |list: &[&'static str], shift: u32| list[((h >> shift) % list.len() as u64) as usize];
    let mut name = String::from(pick(SURNAMES, 0));
    name.push_str(pick(GIVEN, 8));
    if !(h >> 40).is_multiple_of(5) {
        name.push_str(pick(GIVEN, 16));
    }
    name
}
